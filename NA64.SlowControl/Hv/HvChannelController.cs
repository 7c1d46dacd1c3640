using NA64.Hardware.Errors;
using NA64.Hardware.Hv;
using NA64.SlowControl.Controllers;
using NA64.SlowControl.Setup;
using Serilog;
using Stateless;
using Stateless.Graph;
using Stateless.Reflection;

namespace NA64.SlowControl.Hv;

/// <summary>
/// One HV channel: a state machine fed by polled readbacks, with operator commands as triggers.
/// The state follows what the device reports, never what was sent: a command only sends bytes and records what
/// the readbacks should show next; the state moves when they do. Trip recovery follows NA64 practice
/// (nominal - 20 V, stable for a while, then nominal) within a per-hour budget.
/// </summary>
/// <remarks>
/// <para>
/// First contact and every reconnect are read-only: the controller adopts what it reads (a channel found On stays On
/// at its VSET) and writes nothing. Settings reach the device only through commands (switch-on, set, apply); after a
/// reconnect only what an operator set during this process's life is written back (<c>.Settings.cs</c>).
/// </para>
/// <para>
/// Thread safety: readbacks (poller) and commands (CLI, service) are serialised by one gate per channel.
/// <see cref="StateChanged"/> and <see cref="AlarmRaised"/> are queued inside the gate and raised, in order, after it
/// is released: a handler may await a command to this same channel.
/// </para>
/// The machine is declared in <see cref="Configure"/> below; recovery, confirmation of commands and operator
/// settings are in the partial files of the same name.
/// </remarks>
public sealed partial class HvChannelController
{
    internal enum Trigger
    {
        Readback,
        PollFailed,
        SwitchOn,
        SwitchOff,
        SetVoltage,
        SetSetting,
        Apply,
        BeginRecovery,
    }

    private readonly IHvChannel _hw;
    private readonly ChannelSetup _channel;
    private readonly HvControllerSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly EventOutbox _outbox;
    private readonly StateMachine<HvChannelState, Trigger> _machine;
    private readonly StateMachine<HvChannelState, Trigger>.TriggerWithParameters<HvObservation> _readback;
    private readonly StateMachine<HvChannelState, Trigger>.TriggerWithParameters<Exception> _pollFailed;
    private readonly StateMachine<HvChannelState, Trigger>.TriggerWithParameters<double> _switchOn;
    private readonly StateMachine<HvChannelState, Trigger>.TriggerWithParameters<double> _setVoltage;
    private readonly StateMachine<HvChannelState, Trigger>.TriggerWithParameters<OperatorSetting> _setSetting;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private bool _interlockReleased;
    private HvChannelReadback? _last;
    private HvBoardReadback? _lastBoard;
    private DateTimeOffset? _lastTime;
    // The command being carried out (for the refusal message) and its token; both only valid inside the gate.
    private HvCommand _command;
    private CancellationToken _ct;
    private volatile HvChannelSnapshot _snapshot;

    public HvChannelController(IHvChannel channel, ChannelSetup setup, HvControllerSettings settings,
        TimeProvider? time = null, ILogger? log = null)
    {
        _hw = channel ?? throw new ArgumentNullException(nameof(channel));
        _channel = setup ?? throw new ArgumentNullException(nameof(setup));
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _time = time ?? TimeProvider.System;
        _log = (log ?? Serilog.Core.Logger.None).ForContext<HvChannelController>().ForContext("Channel", setup.Name);
        _outbox = new EventOutbox($"HV {setup.Name}", _log);
        _targetVolts = setup.NominalVolts;
        _currentLimit = setup.CurrentLimitMicroamps;
        _rampUp = setup.RampUpVoltsPerSecond;
        _rampDown = setup.RampDownVoltsPerSecond;

        _machine = new StateMachine<HvChannelState, Trigger>(HvChannelState.Unknown, FiringMode.Queued);
        _readback = _machine.SetTriggerParameters<HvObservation>(Trigger.Readback);
        _pollFailed = _machine.SetTriggerParameters<Exception>(Trigger.PollFailed);
        _switchOn = _machine.SetTriggerParameters<double>(Trigger.SwitchOn);
        _setVoltage = _machine.SetTriggerParameters<double>(Trigger.SetVoltage);
        _setSetting = _machine.SetTriggerParameters<OperatorSetting>(Trigger.SetSetting);
        Configure();
        _snapshot = MakeSnapshot();
    }

    public string Name => _channel.Name;
    public string BoardName => _hw.BoardName;
    public int Index => _channel.Index;
    public ChannelSetup Setup => _channel;
    public HvChannelState State => _machine.State;

    /// <summary>The VSET the channel is operated at: nominal, a VSET adopted at first contact, or the operator's.</summary>
    public double TargetVolts => _targetVolts;

    /// <summary>Raised for every alarm (also logged), after the channel's gate is released.</summary>
    public event Action<Alarm>? AlarmRaised;

    /// <summary>
    /// Raised after every state change with (from, to), in order, after the channel's gate is released; the
    /// <see cref="Snapshot"/> a handler reads may already be newer than the change it is told about.
    /// </summary>
    public event Action<HvChannelState, HvChannelState>? StateChanged;

    /// <summary>The channel as last seen: an immutable record replaced at every change, cheap to read at any rate.</summary>
    public HvChannelSnapshot Snapshot() => _snapshot;

    /// <summary>The machine as a UML dot graph (docs/hv-channel-states.dot is generated from it).</summary>
    public string ToDotGraph() => new StateGraph(_machine.GetInfo()).ToGraph(new ReadableGraphStyle((source, trigger) =>
        source == nameof(HvChannelState.Interlocked) && trigger == nameof(Trigger.SwitchOn)
            ? "interlock gone, board in REMOTE"
            : "board in REMOTE"));


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

        // First contact writes nothing: what the device reports is adopted (a live channel keeps its VSET).
        _machine.Configure(HvChannelState.Unknown)
            .OnExit(AdoptFirstReadback, "adopt VSET and ON as read, write nothing")
            .PermitDynamic(_readback, o => o.State, "first readback: state as read back", all)
            .Permit(Trigger.PollFailed, HvChannelState.Disconnected);

        // After a reconnect only what an operator set during this life is written back (before the readback is taken).
        _machine.Configure(HvChannelState.Disconnected)
            .OnEntryFrom(_pollFailed, OnDisconnected, "alarm, readbacks stale")
            .PermitDynamic(_readback, o => o.State, "reconnected: operator settings pushed back, state as read back", all)
            .Ignore(Trigger.PollFailed);

        // Anything the device reports as interlocked, killed, disabled or tripped wins from every connected state.
        // Settings (ISET, RUP, RDW) and apply may be written in any connected state while the board is in REMOTE.
        _machine.Configure(HvChannelState.Connected)
            .Permit(Trigger.PollFailed, HvChannelState.Disconnected)
            .PermitIf(_readback, HvChannelState.Interlocked, o => o.State == HvChannelState.Interlocked, "ILK bit or board interlock")
            .PermitIf(_readback, HvChannelState.Killed, o => o.State == HvChannelState.Killed, "KILL bit")
            .PermitIf(_readback, HvChannelState.Disabled, o => o.State == HvChannelState.Disabled, "DIS bit")
            .PermitIf(_readback, HvChannelState.Tripped, o => o.State == HvChannelState.Tripped, "TRIP bit")
            .InternalTransitionAsyncIf(_setSetting, BoardInRemoteFor, SendSettingAsync)
            .InternalTransitionAsyncIf(Trigger.Apply, BoardInRemote, SendApplyAsync);

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
            _snapshot = MakeSnapshot();
            var (from, to) = (t.Source, t.Destination);
            _outbox.Post(StateChanged, h => h(from, to), nameof(StateChanged));
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

    private bool BoardInRemoteFor<T>(T _) => BoardInRemote();

    private bool InterlockGoneAndBoardInRemote(double _) => BoardInRemote() && !InterlockStillActive();

    private static bool IsOperating(HvChannelState s) => s is HvChannelState.Off or HvChannelState.RampingUp
        or HvChannelState.On or HvChannelState.RampingDown or HvChannelState.OutOfTolerance;

    /// <summary>A VSET readback equals a set point within half the device's VSET step (plus rounding of the reply).</summary>
    private double VSetTolerance => (_hw.VoltageResolution / 2) + 0.001;

    private bool IsOnAt(HvObservation o, double volts) =>
        o.State == HvChannelState.On && Math.Abs(o.Readback.VSet - volts) <= VSetTolerance;

    // Only the board's interlock input (BDILK) says whether the interlock is still there. The channel's ILK bit may
    // stay latched after the input is released until ON clears it (the simulator does so; unverified on hardware),
    // so refusing ON while it is set would leave the channel off for good.
    private bool InterlockStillActive() => _lastBoard?.InterlockActive == true;

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
        return new HvCommandRefusedException(Name, _command, reason);
    }

    // ---------------------------------------------------------------------------------------------
    // Inputs
    // ---------------------------------------------------------------------------------------------

    /// <summary>Feeds one poll cycle's readback of this channel (called by <see cref="HvBoardPoller"/>).</summary>
    public async Task OnReadbackAsync(HvChannelReadback readback, HvBoardReadback board, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(board);
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _ct = ct;
            var now = _time.GetUtcNow();
            _last = readback;
            _lastBoard = board;
            _lastTime = now;
            var observation = new HvObservation(readback, HvStatus.Classify(readback, board.InterlockActive, _settings.OnToleranceVolts));

            if (_pushBackPending && !await PushBackAsync(board).ConfigureAwait(false))
                return;
            CheckExpectations(readback, now);
            await _machine.FireAsync(_readback, observation).ConfigureAwait(false);
            EvaluateRamp(readback);
        }
        finally
        {
            ReleaseGate();
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
            ReleaseGate();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Operator commands
    // ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Writes this channel's ISET, RUP, RDW (the setup's, overridden by the operator's), VSET =
    /// <paramref name="volts"/> (default: the present target, initially nominal), then ON. Returns once sent.
    /// </summary>
    public Task SwitchOnAsync(double? volts = null, CancellationToken ct = default)
    {
        double target = volts ?? _targetVolts;
        CheckVoltage(target);
        return CommandAsync(HvCommand.SwitchOn, () => _machine.FireAsync(_switchOn, target), target, null, ct);
    }

    public Task SwitchOffAsync(CancellationToken ct = default) =>
        CommandAsync(HvCommand.SwitchOff, () => _machine.FireAsync(Trigger.SwitchOff), null, null, ct);

    /// <summary>Changes VSET without switching on or off; remembered as the operator's VSET.</summary>
    public Task SetVoltageAsync(double volts, CancellationToken ct = default)
    {
        CheckVoltage(volts);
        return CommandAsync(HvCommand.SetVoltage, () => _machine.FireAsync(_setVoltage, volts), volts, null, ct);
    }

    /// <summary>Writes ISET now and uses it for later switch-ons until changed (checked against maxMicroamps first).</summary>
    public Task SetCurrentLimitAsync(double microamps, CancellationToken ct = default) =>
        SetSettingAsync(HvCommand.SetCurrentLimit, new OperatorSetting(HvParameter.ISet, microamps), ct);

    /// <summary>Writes RUP now and uses it for later switch-ons until changed (checked against maxRampVoltsPerSecond first).</summary>
    public Task SetRampUpAsync(double voltsPerSecond, CancellationToken ct = default) =>
        SetSettingAsync(HvCommand.SetRampUp, new OperatorSetting(HvParameter.RampUp, voltsPerSecond), ct);

    /// <summary>Writes RDW now and uses it for later switch-ons until changed (checked against maxRampVoltsPerSecond first).</summary>
    public Task SetRampDownAsync(double voltsPerSecond, CancellationToken ct = default) =>
        SetSettingAsync(HvCommand.SetRampDown, new OperatorSetting(HvParameter.RampDown, voltsPerSecond), ct);

    /// <summary>
    /// Writes the setup's settings to this channel on purpose: every entry of <see cref="PlanApply"/> (ISET, RUP,
    /// RDW, and VSET = nominal only while the channel is not on). Operator overrides are replaced by the setup's values.
    /// </summary>
    public Task ApplyAsync(CancellationToken ct = default) =>
        CommandAsync(HvCommand.Apply, () => _machine.FireAsync(Trigger.Apply), null, null, ct);

    /// <summary>
    /// Switches on at <paramref name="volts"/> (as <see cref="SwitchOnAsync"/>) and completes when the readbacks show
    /// the channel On there. Fails with <see cref="HvRampFailedException"/> on trip, interlock, kill, disable,
    /// disconnect, an unconfirmed command or a later command that supersedes this one; with
    /// <see cref="HvCommandRefusedException"/> or the driver's exception (e.g. <see cref="SetpointOutOfRangeException"/>)
    /// when the command is refused.
    /// </summary>
    public async Task RampAsync(double volts, IProgress<HvRampProgress>? progress = null, CancellationToken ct = default)
    {
        CheckVoltage(volts);
        var waiter = new RampWaiter(volts, progress);
        await CommandAsync(HvCommand.SwitchOn, () => _machine.FireAsync(_switchOn, volts), volts, waiter, ct).ConfigureAwait(false);
        // Cancelling stops the waiting, not the ramp: the channel keeps going to the VSET already sent.
        using (ct.Register(() =>
               {
                   Interlocked.CompareExchange(ref _ramp, null, waiter);
                   waiter.Completion.TrySetCanceled(ct);
               }))
            await waiter.Completion.Task.ConfigureAwait(false);
    }

    private Task SetSettingAsync(HvCommand command, OperatorSetting setting, CancellationToken ct)
    {
        CheckLimit(setting.Parameter, setting.Value);
        return CommandAsync(command, () => _machine.FireAsync(_setSetting, setting), null, null, ct);
    }

    private async Task CommandAsync(HvCommand command, Func<Task> fire, double? volts, RampWaiter? waiter, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _ct = ct;
            _command = command;
            await fire().ConfigureAwait(false);
            SupersedeRamp(command, volts, waiter);
        }
        finally
        {
            ReleaseGate();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Events: queued inside the gate, raised after it
    // ---------------------------------------------------------------------------------------------

    /// <summary>Publishes the snapshot, releases the gate, then raises the queued events.</summary>
    private void ReleaseGate()
    {
        _snapshot = MakeSnapshot();
        _gate.Release();
        _outbox.Dispatch();
    }

    private void Raise(AlarmSeverity severity, HvAlarmKind kind, string message)
    {
        var alarm = new Alarm(_time.GetUtcNow(), Name, severity, kind, message);
        _log.Warning("HV alarm {Severity} {Kind} on {Channel}: {Message}", severity, kind, Name, message);
        _outbox.Post(AlarmRaised, h => h(alarm), nameof(AlarmRaised));
    }

    private HvChannelSnapshot MakeSnapshot()
    {
        PruneRecoveries();
        return new HvChannelSnapshot(Name, BoardName, Index, State, _channel.NominalVolts, _targetVolts, _last, _lastTime,
            _recoveries.Count, CurrentSettings, _operatorSet);
    }
}
