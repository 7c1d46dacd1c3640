using System.Globalization;
using NA64.Hardware.Errors;
using NA64.Hardware.Hv;
using NA64.SlowControl.Setup;
using Serilog;
using Stateless;
using Stateless.Graph;
using Stateless.Reflection;
using Transition = Stateless.StateMachine<NA64.SlowControl.Hv.HvChannelState, NA64.SlowControl.Hv.HvChannelController.Trigger>.Transition;

namespace NA64.SlowControl.Hv;

/// <summary>
/// One HV channel: a state machine fed by polled readbacks, with operator commands as triggers.
/// The state follows what the device reports, never what was sent: a command only sends bytes and records what
/// the readbacks should show next; the state moves when they do. Trip recovery follows NA64 practice
/// (nominal - 20 V, stable for a while, then nominal) within a per-hour budget.
/// </summary>
/// <remarks>
/// Thread safety: readbacks (poller) and commands (CLI, sequences) are serialised by one gate per channel.
/// </remarks>
public sealed class HvChannelController
{
    internal enum Trigger
    {
        Readback,
        PollFailed,
        SwitchOn,
        SwitchOff,
        SetVoltage,
        BeginRecovery,
    }

    /// <summary>VSET readback counts as equal to a set point within this (CAEN VSET has one decimal).</summary>
    private const double VSetResolution = 0.051;

    private readonly IHvBoard _board;
    private readonly ChannelSetup _channel;
    private readonly HvControllerSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly StateMachine<HvChannelState, Trigger> _machine;
    private readonly StateMachine<HvChannelState, Trigger>.TriggerWithParameters<HvObservation> _readback;
    private readonly StateMachine<HvChannelState, Trigger>.TriggerWithParameters<Exception> _pollFailed;
    private readonly StateMachine<HvChannelState, Trigger>.TriggerWithParameters<double> _switchOn;
    private readonly StateMachine<HvChannelState, Trigger>.TriggerWithParameters<double> _setVoltage;
    private readonly SemaphoreSlim _gate = new(1, 1);

    // What the operator asked for; pushed back after a reconnect and used as "nominal" by the recovery.
    private double _targetVolts;
    private bool _wantOn;
    // Settings (ISET, ramps, VSET) must be (re)written at first contact and after every reconnect.
    private bool _settingsToPush = true;
    private bool _firstContact = true;
    private bool _interlockReleased;
    private bool _recoveryActive;
    private DateTimeOffset _stableSince;
    private readonly Queue<DateTimeOffset> _recoveries = new();
    // Commands sent but not yet visible in the readbacks, by parameter ("VSET", "ON").
    private readonly Dictionary<string, Expectation> _expected = new(StringComparer.Ordinal);
    private RampWaiter? _ramp;
    private HvChannelReadback? _last;
    private HvBoardReadback? _lastBoard;
    private DateTimeOffset? _lastTime;
    private CancellationToken _ct;
    private volatile HvChannelSnapshot _snapshot;

    public HvChannelController(IHvBoard board, ChannelSetup channel, HvControllerSettings settings,
        TimeProvider? time = null, ILogger? log = null)
    {
        _board = board ?? throw new ArgumentNullException(nameof(board));
        _channel = channel ?? throw new ArgumentNullException(nameof(channel));
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _time = time ?? TimeProvider.System;
        _log = (log ?? Serilog.Core.Logger.None).ForContext<HvChannelController>().ForContext("Channel", channel.Name);
        _targetVolts = channel.NominalVolts;

        _machine = new StateMachine<HvChannelState, Trigger>(HvChannelState.Unknown, FiringMode.Queued);
        _readback = _machine.SetTriggerParameters<HvObservation>(Trigger.Readback);
        _pollFailed = _machine.SetTriggerParameters<Exception>(Trigger.PollFailed);
        _switchOn = _machine.SetTriggerParameters<double>(Trigger.SwitchOn);
        _setVoltage = _machine.SetTriggerParameters<double>(Trigger.SetVoltage);
        Configure();
        _snapshot = MakeSnapshot();
    }

    public string Name => _channel.Name;
    public string BoardName => _board.Name;
    public int Index => _channel.Index;
    public ChannelSetup Setup => _channel;
    public HvChannelState State => _machine.State;
    public double TargetVolts => _targetVolts;

    /// <summary>
    /// Raised for every alarm (also logged). Runs inside the channel's gate: a handler must not wait for a command
    /// to this channel (queue it instead).
    /// </summary>
    public event Action<Alarm>? AlarmRaised;

    /// <summary>Raised after every state change, with (from, to); runs inside the channel's gate like <see cref="AlarmRaised"/>.</summary>
    public event Action<HvChannelState, HvChannelState>? StateChanged;

    public HvChannelSnapshot Snapshot() => _snapshot;

    /// <summary>The machine as a UML dot graph (docs/hv-channel-states.dot is generated from it).</summary>
    public string ToDotGraph() => new StateGraph(_machine.GetInfo()).ToGraph(new ChannelGraphStyle());

    /// <summary>
    /// Stateless has no description parameter for async internal transitions with a guard or for guarded dynamic
    /// transitions, and prints "Function" there. This style writes what those guards and decisions mean.
    /// </summary>
    private sealed class ChannelGraphStyle : UmlDotGraphStyle
    {
        private const string Unnamed = "Function";

        public override string FormatOneDecisionNode(string nodeName, string label) =>
            base.FormatOneDecisionNode(nodeName, label == Unnamed ? "state as read back" : label);

        public override string FormatOneTransition(string sourceNodeName, string trigger, IEnumerable<string> actions,
            string destinationNodeName, IEnumerable<string> guards) =>
            base.FormatOneTransition(sourceNodeName, trigger, actions, destinationNodeName,
                guards.Select(g => g != Unnamed ? g
                    : sourceNodeName == nameof(HvChannelState.Interlocked) && trigger == nameof(Trigger.SwitchOn)
                        ? "interlock gone, board in REMOTE"
                        : "board in REMOTE").ToList());
    }

    // ---------------------------------------------------------------------------------------------
    // The state machine, in one place.
    // ---------------------------------------------------------------------------------------------

    private void Configure()
    {
        var all = States(HvChannelState.Off, HvChannelState.RampingUp, HvChannelState.On, HvChannelState.RampingDown,
            HvChannelState.OutOfTolerance, HvChannelState.Tripped, HvChannelState.Interlocked, HvChannelState.Killed,
            HvChannelState.Disabled);
        var operating = States(HvChannelState.Off, HvChannelState.RampingUp, HvChannelState.On, HvChannelState.RampingDown,
            HvChannelState.OutOfTolerance);

        _machine.Configure(HvChannelState.Unknown)
            .PermitDynamic(_readback, o => o.State, "first readback: settings pushed, state as read back", all)
            .Permit(Trigger.PollFailed, HvChannelState.Disconnected);

        _machine.Configure(HvChannelState.Disconnected)
            .OnEntryFrom(_pollFailed, OnDisconnected, "alarm, readbacks stale")
            .PermitDynamic(_readback, o => o.State, "reconnected: settings pushed back, state as read back", all)
            .Ignore(Trigger.PollFailed);

        // Anything the device reports as interlocked, killed, disabled or tripped wins from every connected state.
        _machine.Configure(HvChannelState.Connected)
            .Permit(Trigger.PollFailed, HvChannelState.Disconnected)
            .PermitIf(_readback, HvChannelState.Interlocked, o => o.State == HvChannelState.Interlocked, "ILK bit or board interlock")
            .PermitIf(_readback, HvChannelState.Killed, o => o.State == HvChannelState.Killed, "KILL bit")
            .PermitIf(_readback, HvChannelState.Disabled, o => o.State == HvChannelState.Disabled, "DIS bit")
            .PermitIf(_readback, HvChannelState.Tripped, o => o.State == HvChannelState.Tripped, "TRIP bit");

        // Normal operation: the state is whatever the ON/RUP/RDW bits and VMON say; commands only send bytes.
        _machine.Configure(HvChannelState.Operating)
            .SubstateOf(HvChannelState.Connected)
            .PermitDynamicIf(_readback, AsReadBack, o => IsOperating(o.State) && o.State != State, "ON/RUP/RDW bits, |VMON-VSET|", operating)
            .IgnoreIf(_readback, o => o.State == State, "no change")
            .InternalTransitionAsyncIf(_switchOn, BoardInRemoteFor, SendSwitchOnAsync)
            .InternalTransitionAsyncIf(Trigger.SwitchOff, BoardInRemote, SendSwitchOffAsync)
            .InternalTransitionAsyncIf(_setVoltage, BoardInRemoteFor, SendVoltageAsync);
        foreach (var s in new[] { HvChannelState.Off, HvChannelState.RampingUp, HvChannelState.On, HvChannelState.RampingDown, HvChannelState.OutOfTolerance })
            _machine.Configure(s).SubstateOf(HvChannelState.Operating);
        _machine.Configure(HvChannelState.On).OnEntry(OnReachedOn, "log");

        // TRIP is latched by the board until ON or BDCLR. Recovery starts at once if wanted and the budget allows.
        _machine.Configure(HvChannelState.Tripped)
            .SubstateOf(HvChannelState.Connected)
            .OnEntryAsync(OnTrippedAsync, "alarm; start recovery if budget allows")
            .PermitIf(Trigger.BeginRecovery, HvChannelState.RecoveryStepDown, RecoveryAllowed, "channel wanted on and recoveries in the last hour < maxPerHour")
            .IgnoreIf(_readback, o => o.State == HvChannelState.Tripped, "TRIP still latched")
            .PermitDynamicIf(_readback, AsReadBack, o => IsOperating(o.State), "TRIP cleared (ON or BDCLR)", operating)
            .InternalTransitionAsyncIf(_switchOn, BoardInRemoteFor, SendSwitchOnAsync)
            .InternalTransitionAsyncIf(Trigger.SwitchOff, BoardInRemote, SendSwitchOffAsync)
            .InternalTransitionAsyncIf(_setVoltage, BoardInRemoteFor, SendVoltageAsync);

        // Two-step recovery: nominal - step, stable for stableTime, nominal. An operator command takes over.
        _machine.Configure(HvChannelState.Recovering)
            .SubstateOf(HvChannelState.Connected)
            .OnExit(EndRecovery, "log outcome")
            .PermitDynamicIf(_readback, AsReadBack, o => !_recoveryActive && IsOperating(o.State), "recovery abandoned: state as read back", operating)
            .IgnoreIf(_readback, o => _recoveryActive && IsOperating(o.State), "step not reached yet")
            .InternalTransitionAsyncIf(_switchOn, BoardInRemoteFor, AbandonRecoveryAndSwitchOnAsync)
            .InternalTransitionAsyncIf(Trigger.SwitchOff, BoardInRemote, AbandonRecoveryAndSwitchOffAsync)
            .InternalTransitionAsyncIf(_setVoltage, BoardInRemoteFor, AbandonRecoveryAndSetVoltageAsync);
        _machine.Configure(HvChannelState.RecoveryStepDown)
            .SubstateOf(HvChannelState.Recovering)
            .OnEntryAsync(StartRecoveryAsync, "VSET = nominal - step, ON")
            .PermitIf(_readback, HvChannelState.RecoveryHold, o => _recoveryActive && IsOnAt(o, RecoveryStepVolts), "On at nominal - step");
        _machine.Configure(HvChannelState.RecoveryHold)
            .SubstateOf(HvChannelState.Recovering)
            .OnEntry(() => _stableSince = _time.GetUtcNow(), "start stable clock")
            .PermitIf(_readback, HvChannelState.RecoveryToNominal, o => _recoveryActive && IsOnAt(o, RecoveryStepVolts) && StableLongEnough(), "On for stableTime")
            .InternalTransitionIf(_readback, o => _recoveryActive && !IsOnAt(o, RecoveryStepVolts), (_, _) => _stableSince = _time.GetUtcNow(), "not stable: restart clock");
        _machine.Configure(HvChannelState.RecoveryToNominal)
            .SubstateOf(HvChannelState.Recovering)
            .OnEntryAsync(FinishRecoveryAsync, "VSET = nominal")
            .PermitIf(_readback, HvChannelState.On, o => _recoveryActive && IsOnAt(o, _targetVolts), "On at nominal");

        // The interlock switched everything off; only an operator SwitchOn (with the interlock gone) leaves.
        _machine.Configure(HvChannelState.Interlocked)
            .SubstateOf(HvChannelState.Connected)
            .OnEntry(OnInterlocked, "alarm, wait for operator")
            .IgnoreIf(_readback, o => !_interlockReleased || o.State == HvChannelState.Interlocked, "waiting for operator SwitchOn")
            .PermitDynamicIf(_readback, AsReadBack, o => _interlockReleased && o.State != HvChannelState.Interlocked, "operator switched on: state as read back", all)
            .InternalTransitionAsyncIf(_switchOn, InterlockGoneAndBoardInRemote, AcknowledgeInterlockAndSwitchOnAsync)
            .InternalTransitionAsyncIf(Trigger.SwitchOff, BoardInRemote, SendSwitchOffAsync)
            .InternalTransitionAsyncIf(_setVoltage, BoardInRemoteFor, SendVoltageAsync);

        // KILL input / channel switch: the hardware decides; switching on is refused until it is released.
        void HeldOffByHardware(HvChannelState state, HvAlarmKind alarm, string cause, string stillSet, string released) =>
            _machine.Configure(state)
                .SubstateOf(HvChannelState.Connected)
                .OnEntry(() => OnHardwareOff(alarm, cause), "alarm")
                .IgnoreIf(_readback, o => o.State == state, stillSet)
                .PermitDynamicIf(_readback, AsReadBack, o => IsOperating(o.State), released, operating)
                .InternalTransitionAsyncIf(Trigger.SwitchOff, BoardInRemote, SendSwitchOffAsync)
                .InternalTransitionAsyncIf(_setVoltage, BoardInRemoteFor, SendVoltageAsync);
        HeldOffByHardware(HvChannelState.Killed, HvAlarmKind.Killed, "killed by the KILL input", "KILL still set", "KILL released");
        HeldOffByHardware(HvChannelState.Disabled, HvAlarmKind.Disabled, "disabled by its front-panel channel switch", "DIS still set", "channel switch back on");

        _machine.OnTransitionCompleted(t =>
        {
            if (t.Source == t.Destination) return;
            _log.Information("HV {Channel}: {From} -> {To} on {Trigger}", Name, t.Source, t.Destination, t.Trigger);
            _snapshot = MakeSnapshot(); // handlers see the new state with the readback that caused it
            StateChanged?.Invoke(t.Source, t.Destination);
        });
        _machine.OnUnhandledTrigger((state, trigger, unmet) => throw Refusal(state, trigger, unmet));
    }

    private static DynamicStateInfos States(params HvChannelState[] states)
    {
        var infos = new DynamicStateInfos();
        foreach (var s in states) infos.Add(s, s.ToString());
        return infos;
    }

    private static HvChannelState AsReadBack(HvObservation o) => o.State;

    /// <summary>In LOCAL mode (front panel) the board refuses every SET: refuse before sending.</summary>
    private bool BoardInRemote() => _lastBoard?.LocalMode != true;

    private bool BoardInRemoteFor(double _) => BoardInRemote();

    private bool InterlockGoneAndBoardInRemote(double _) => BoardInRemote() && !InterlockStillActive();

    private static bool IsOperating(HvChannelState s) => s is HvChannelState.Off or HvChannelState.RampingUp
        or HvChannelState.On or HvChannelState.RampingDown or HvChannelState.OutOfTolerance;

    private static bool IsOnAt(HvObservation o, double volts) =>
        o.State == HvChannelState.On && Math.Abs(o.Readback.VSet - volts) <= VSetResolution;

    private double RecoveryStepVolts => Math.Max(0, _targetVolts - _settings.Recovery.StepBelowNominalVolts);

    private bool StableLongEnough() => _time.GetUtcNow() - _stableSince >= _settings.Recovery.StableTime;

    // Only the board's interlock input (BDILK) says whether the interlock is still there. The channel's ILK bit may
    // stay latched after the input is released until ON clears it (the simulator does so; unverified on hardware),
    // so refusing ON while it is set would leave the channel off for good.
    private bool InterlockStillActive() => _lastBoard?.InterlockActive == true;

    private bool RecoveryAllowed()
    {
        if (!_wantOn) return false;
        PruneRecoveries();
        return _recoveries.Count < _settings.Recovery.MaxPerHour;
    }

    private void PruneRecoveries()
    {
        var hourAgo = _time.GetUtcNow() - TimeSpan.FromHours(1);
        while (_recoveries.Count > 0 && _recoveries.Peek() <= hourAgo) _recoveries.Dequeue();
    }

    private Exception Refusal(HvChannelState state, Trigger trigger, ICollection<string> unmetGuards)
    {
        // Readbacks and poll failures have a transition in every state: reaching here is a bug in the machine.
        if (trigger is Trigger.Readback or Trigger.PollFailed or Trigger.BeginRecovery)
            return new InvalidOperationException(
                $"{Name}: no transition for {trigger} in state {state}; unmet guards: {string.Join("; ", unmetGuards)}");
        string reason = _lastBoard?.LocalMode == true
            ? $"board {BoardName} is in LOCAL mode (front panel); it refuses every SET"
            : state switch
        {
            HvChannelState.Unknown => $"no readback from board {BoardName} yet",
            HvChannelState.Disconnected => $"board {BoardName} is disconnected",
            HvChannelState.Interlocked => $"interlock still active on board {BoardName}",
            HvChannelState.Killed => "channel killed by the KILL input; release it first",
            HvChannelState.Disabled => "channel disabled by its front-panel switch; switch it back first",
            _ => $"not allowed in state {state}",
        };
        return new HvCommandRefusedException(Name, trigger.ToString(), reason);
    }

    // ---------------------------------------------------------------------------------------------
    // Inputs
    // ---------------------------------------------------------------------------------------------

    /// <summary>Feeds one poll cycle's readback of this channel (called by <see cref="HvBoardPoller"/>).</summary>
    public async Task OnReadbackAsync(HvChannelReadback readback, HvBoardReadback board, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _ct = ct;
            var now = _time.GetUtcNow();
            _last = readback;
            _lastBoard = board;
            _lastTime = now;
            var observation = new HvObservation(readback, HvStatus.Classify(readback, board.InterlockActive, _settings.OnToleranceVolts));

            if (_settingsToPush && !await PushSettingsAsync(readback, board).ConfigureAwait(false))
                return;
            CheckExpectations(readback, now);
            await _machine.FireAsync(_readback, observation).ConfigureAwait(false);
            EvaluateRamp(readback);
        }
        finally
        {
            _snapshot = MakeSnapshot();
            _gate.Release();
        }
    }

    /// <summary>Reports a failed poll cycle (timeout, port gone): the channel becomes Disconnected.</summary>
    public async Task OnPollFailedAsync(Exception error, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(error);
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _ct = ct;
            await _machine.FireAsync(_pollFailed, error).ConfigureAwait(false);
        }
        finally
        {
            _snapshot = MakeSnapshot();
            _gate.Release();
        }
    }

    /// <summary>Switches on at <paramref name="volts"/> (default: the present target, initially nominal). Returns once sent.</summary>
    public Task SwitchOnAsync(double? volts = null, CancellationToken ct = default) =>
        CommandAsync("SwitchOn", () => _machine.FireAsync(_switchOn, volts ?? _targetVolts), volts ?? _targetVolts, null, ct);

    public Task SwitchOffAsync(CancellationToken ct = default) =>
        CommandAsync("SwitchOff", () => _machine.FireAsync(Trigger.SwitchOff), null, null, ct);

    /// <summary>Changes VSET without switching on or off.</summary>
    public Task SetVoltageAsync(double volts, CancellationToken ct = default) =>
        CommandAsync("SetVoltage", () => _machine.FireAsync(_setVoltage, volts), volts, null, ct);

    /// <summary>
    /// Switches on at <paramref name="volts"/> and completes when the readbacks show the channel On there.
    /// Fails with <see cref="HvRampFailedException"/> on trip, interlock, kill, disable, disconnect, an unconfirmed
    /// command or a later command that supersedes this one; with <see cref="HvCommandRefusedException"/> or the
    /// driver's exception (e.g. <see cref="SetpointOutOfRangeException"/>) when the command is refused.
    /// </summary>
    public async Task RampAsync(double volts, IProgress<HvRampProgress>? progress = null, CancellationToken ct = default)
    {
        var waiter = new RampWaiter(volts, progress);
        await CommandAsync("SwitchOn", () => _machine.FireAsync(_switchOn, volts), volts, waiter, ct).ConfigureAwait(false);
        // Cancelling stops the waiting, not the ramp: the channel keeps going to the VSET already sent.
        using (ct.Register(() =>
               {
                   Interlocked.CompareExchange(ref _ramp, null, waiter);
                   waiter.Completion.TrySetCanceled(ct);
               }))
            await waiter.Completion.Task.ConfigureAwait(false);
    }

    private async Task CommandAsync(string command, Func<Task> fire, double? volts, RampWaiter? waiter, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _ct = ct;
            await fire().ConfigureAwait(false);
            // The command is on the wire: an older ramp towards something else can no longer complete as asked.
            if (_ramp is { } old && (waiter is not null || volts is null || Math.Abs(volts.Value - old.Target) > VSetResolution || command == "SwitchOff"))
                FailRamp($"superseded by {command}{(volts is { } v ? string.Create(CultureInfo.InvariantCulture, $" {v:0.0} V") : "")}");
            if (waiter is not null) _ramp = waiter;
        }
        finally
        {
            _snapshot = MakeSnapshot();
            _gate.Release();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Actions (run inside the gate)
    // ---------------------------------------------------------------------------------------------

    private Task SendVoltageAsync(double volts, Transition _) => WriteVoltageAsync(volts);

    private Task SendSwitchOnAsync(double volts, Transition _) => WriteOnAsync(volts);

    private Task SendSwitchOffAsync(Transition _) => WriteOffAsync();

    private Task AbandonRecoveryAndSwitchOnAsync(double volts, Transition _) => TakeOverAsync(() => WriteOnAsync(volts));

    private Task AbandonRecoveryAndSwitchOffAsync(Transition _) => TakeOverAsync(WriteOffAsync);

    private Task AbandonRecoveryAndSetVoltageAsync(double volts, Transition _) => TakeOverAsync(() => WriteVoltageAsync(volts));

    private async Task WriteVoltageAsync(double volts)
    {
        await _board.SetVoltageAsync(Index, volts, _ct).ConfigureAwait(false);
        _log.Information("HV {Channel}: VSET {Volts} V sent", Name, volts);
        _targetVolts = volts;
        Expect("VSET", string.Create(CultureInfo.InvariantCulture, $"VSET = {volts:0.0} V"), r => Math.Abs(r.VSet - volts) <= VSetResolution);
    }

    private async Task WriteOnAsync(double volts)
    {
        await WriteVoltageAsync(volts).ConfigureAwait(false);
        await _board.SwitchOnAsync(Index, _ct).ConfigureAwait(false);
        _log.Information("HV {Channel}: ON sent", Name);
        _wantOn = true;
        Expect("ON", "ON", r => r.Status.HasFlag(HvChannelStatus.On));
    }

    private async Task WriteOffAsync()
    {
        await _board.SwitchOffAsync(Index, _ct).ConfigureAwait(false);
        _log.Information("HV {Channel}: OFF sent", Name);
        _wantOn = false;
        Expect("ON", "OFF", r => !r.Status.HasFlag(HvChannelStatus.On));
    }

    private async Task TakeOverAsync(Func<Task> send)
    {
        await send().ConfigureAwait(false);
        _log.Warning("HV {Channel}: operator command during recovery; recovery abandoned", Name);
        _recoveryActive = false;
    }

    private async Task AcknowledgeInterlockAndSwitchOnAsync(double volts, Transition _)
    {
        await WriteOnAsync(volts).ConfigureAwait(false);
        _interlockReleased = true;
        _log.Information("HV {Channel}: interlock acknowledged by operator", Name);
    }

    private void OnDisconnected(Exception error)
    {
        _settingsToPush = true;
        _expected.Clear();
        FailRamp($"board {BoardName} disconnected: {error.Message}");
        Raise(AlarmSeverity.Invalid, HvAlarmKind.Disconnected, $"board {BoardName} not answering: {error.Message}");
    }

    private async Task OnTrippedAsync()
    {
        _expected.Clear();
        var imon = _last?.IMon ?? double.NaN;
        var iset = _last?.ISet ?? double.NaN;
        FailRamp(string.Create(CultureInfo.InvariantCulture, $"tripped at {imon:0.###} uA (ISET {iset:0.###} uA)"));
        _log.Warning("HV {Channel} tripped at {Current} uA (ISET {CurrentLimit} uA, VMON {VMon} V)", Name, imon, iset, _last?.VMon);
        if (_machine.CanFire(Trigger.BeginRecovery))
        {
            Raise(AlarmSeverity.Minor, HvAlarmKind.Tripped, string.Create(CultureInfo.InvariantCulture,
                $"tripped at {imon:0.###} uA; automatic recovery {_recoveries.Count + 1} of {_settings.Recovery.MaxPerHour} this hour"));
            // Queued firing mode: this returns at once and the recovery starts when this transition is complete.
            await _machine.FireAsync(Trigger.BeginRecovery).ConfigureAwait(false);
        }
        else if (_wantOn)
        {
            Raise(AlarmSeverity.Major, HvAlarmKind.RecoveryBudgetExhausted, string.Create(CultureInfo.InvariantCulture,
                $"tripped at {imon:0.###} uA with {_recoveries.Count} automatic recoveries in the last hour (max {_settings.Recovery.MaxPerHour}); channel stays off until an operator switches it on"));
        }
        else
        {
            Raise(AlarmSeverity.Minor, HvAlarmKind.Tripped, string.Create(CultureInfo.InvariantCulture,
                $"tripped at {imon:0.###} uA while not wanted on; no recovery"));
        }
    }

    private async Task StartRecoveryAsync()
    {
        _recoveryActive = true;
        _recoveries.Enqueue(_time.GetUtcNow());
        _log.Information("HV {Channel}: recovery step 1, VSET {Volts} V (nominal {Nominal} V - {Step} V)",
            Name, RecoveryStepVolts, _targetVolts, _settings.Recovery.StepBelowNominalVolts);
        double nominal = _targetVolts;
        await RecoveryCommandAsync(async () =>
        {
            await WriteOnAsync(RecoveryStepVolts).ConfigureAwait(false);
            _targetVolts = nominal; // the step is temporary: nominal stays what the operator asked for
        }).ConfigureAwait(false);
    }

    private Task FinishRecoveryAsync()
    {
        _log.Information("HV {Channel}: recovery step 2, stable at {Step} V for {Stable}; VSET {Volts} V",
            Name, RecoveryStepVolts, _settings.Recovery.StableTime, _targetVolts);
        return RecoveryCommandAsync(() => WriteVoltageAsync(_targetVolts));
    }

    /// <summary>A recovery command that the board refuses ends the recovery with an alarm (the poller must go on).</summary>
    private async Task RecoveryCommandAsync(Func<Task> send)
    {
        try
        {
            await send().ConfigureAwait(false);
        }
        catch (DeviceException e)
        {
            _recoveryActive = false;
            _log.Error(e, "HV {Channel}: recovery command failed", Name);
            Raise(AlarmSeverity.Major, HvAlarmKind.RecoveryFailed, $"recovery command failed: {e.Message}");
        }
    }

    private void EndRecovery(StateMachine<HvChannelState, Trigger>.Transition t)
    {
        if (t.Destination is HvChannelState.RecoveryStepDown or HvChannelState.RecoveryHold or HvChannelState.RecoveryToNominal)
            return;
        if (t.Destination == HvChannelState.On)
            _log.Information("HV {Channel}: recovered, On at {Volts} V", Name, _targetVolts);
        else
            _log.Warning("HV {Channel}: recovery ended in {State}", Name, t.Destination);
        _recoveryActive = false;
    }

    private void OnReachedOn() => _log.Debug("HV {Channel}: On at {Volts} V", Name, _last?.VMon);

    private void OnInterlocked()
    {
        _interlockReleased = false;
        _recoveryActive = false;
        _expected.Clear();
        FailRamp("interlock");
        Raise(AlarmSeverity.Major, HvAlarmKind.Interlocked,
            $"interlock on board {BoardName}; channel off until an operator switches it on");
    }

    private void OnHardwareOff(HvAlarmKind kind, string what)
    {
        _recoveryActive = false;
        _expected.Clear();
        FailRamp(what);
        Raise(AlarmSeverity.Major, kind, what);
    }

    /// <summary>
    /// Writes the setup's ISET and ramps and the target VSET. At first contact a channel that is already on keeps
    /// its VSET (adopted as target) so that starting the host never moves a live voltage.
    /// Returns false when the board stopped answering (the channel then goes Disconnected).
    /// </summary>
    private async Task<bool> PushSettingsAsync(HvChannelReadback r, HvBoardReadback board)
    {
        if (_firstContact)
        {
            _firstContact = false;
            _wantOn = r.Status.HasFlag(HvChannelStatus.On);
            if (_wantOn) _targetVolts = r.VSet;
        }
        if (board.LocalMode)
        {
            _log.Warning("HV {Channel}: board {Board} in LOCAL mode, settings not pushed yet", Name, BoardName);
            return true;
        }
        try
        {
            await _board.SetCurrentLimitAsync(Index, _channel.CurrentLimitMicroamps, _ct).ConfigureAwait(false);
            await _board.SetRampUpAsync(Index, _channel.RampUpVoltsPerSecond, _ct).ConfigureAwait(false);
            await _board.SetRampDownAsync(Index, _channel.RampDownVoltsPerSecond, _ct).ConfigureAwait(false);
            await _board.SetVoltageAsync(Index, _targetVolts, _ct).ConfigureAwait(false);
            _log.Information("HV {Channel}: settings pushed: VSET {Volts} V, ISET {Current} uA, RUP {RampUp} V/s, RDW {RampDown} V/s",
                Name, _targetVolts, _channel.CurrentLimitMicroamps, _channel.RampUpVoltsPerSecond, _channel.RampDownVoltsPerSecond);
            _settingsToPush = false;
            return true;
        }
        catch (DeviceException e) when (e is DeviceTimeoutException or TransportDisconnectedException)
        {
            _log.Warning(e, "HV {Channel}: board stopped answering while settings were pushed", Name);
            await _machine.FireAsync(_pollFailed, e).ConfigureAwait(false);
            return false;
        }
        catch (DeviceException e)
        {
            // Refused settings are a setup problem: report once, follow the readbacks anyway.
            _settingsToPush = false;
            _log.Error(e, "HV {Channel}: board refused the setup's settings", Name);
            Raise(AlarmSeverity.Major, HvAlarmKind.SettingsRejected, $"board refused the settings of the setup: {e.Message}");
            return true;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Confirmation of commands and ramps
    // ---------------------------------------------------------------------------------------------

    private sealed record Expectation(string What, Func<HvChannelReadback, bool> Seen, DateTimeOffset Since);

    private sealed class RampWaiter(double target, IProgress<HvRampProgress>? progress)
    {
        public double Target { get; } = target;
        public IProgress<HvRampProgress>? Progress { get; } = progress;
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private void Expect(string parameter, string what, Func<HvChannelReadback, bool> seen) =>
        _expected[parameter] = new Expectation(what, seen, _time.GetUtcNow());

    private void CheckExpectations(HvChannelReadback r, DateTimeOffset now)
    {
        foreach (var (parameter, e) in _expected.ToList())
        {
            if (e.Seen(r))
            {
                _expected.Remove(parameter);
                continue;
            }
            if (now - e.Since < _settings.CommandConfirmTimeout) continue;
            _expected.Remove(parameter);
            string message = string.Create(CultureInfo.InvariantCulture,
                $"{e.What} acknowledged but not seen in the readbacks within {_settings.CommandConfirmTimeout.TotalSeconds:0.#} s");
            FailRamp(message);
            if (_recoveryActive)
            {
                _recoveryActive = false;
                Raise(AlarmSeverity.Major, HvAlarmKind.RecoveryFailed, "recovery abandoned: " + message);
            }
            else
            {
                Raise(AlarmSeverity.Minor, HvAlarmKind.CommandNotConfirmed, message);
            }
        }
    }

    private void EvaluateRamp(HvChannelReadback r)
    {
        if (_ramp is not { } w) return;
        w.Progress?.Report(new HvRampProgress(Name, State, r.VMon, w.Target));
        if (State == HvChannelState.On && Math.Abs(r.VSet - w.Target) <= VSetResolution)
        {
            _ramp = null;
            w.Completion.TrySetResult();
        }
        else if (State == HvChannelState.OutOfTolerance && r.Status.HasFlag(HvChannelStatus.MaxVoltage))
        {
            FailRamp("output held by the board's MAXV protection (hardware limit below the target)");
        }
    }

    private void FailRamp(string reason)
    {
        if (_ramp is not { } w) return;
        _ramp = null;
        _log.Warning("HV {Channel}: ramp to {Volts} V failed: {Reason}", Name, w.Target, reason);
        w.Completion.TrySetException(new HvRampFailedException(Name, w.Target, State, reason));
    }

    private void Raise(AlarmSeverity severity, HvAlarmKind kind, string message)
    {
        var alarm = new Alarm(_time.GetUtcNow(), Name, severity, kind, message);
        _log.Warning("HV alarm {Severity} {Kind} on {Channel}: {Message}", severity, kind, Name, message);
        AlarmRaised?.Invoke(alarm);
    }

    private HvChannelSnapshot MakeSnapshot()
    {
        PruneRecoveries();
        return new HvChannelSnapshot(Name, BoardName, Index, State, _channel.NominalVolts, _targetVolts, _last, _lastTime, _recoveries.Count);
    }
}
