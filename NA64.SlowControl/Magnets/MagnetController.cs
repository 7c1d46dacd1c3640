using System.Globalization;
using NA64.Hardware.Errors;
using NA64.Hardware.Magnets;
using NA64.SlowControl.Controllers;
using NA64.SlowControl.Hv;
using Serilog;
using Stateless;
using Stateless.Graph;
using Stateless.Reflection;

namespace NA64.SlowControl.Magnets;

/// <summary>
/// One magnet: a state machine fed by polled readbacks of a kind-neutral <see cref="IMagnetSupply"/>, with operator
/// commands as typed triggers. The state follows what the supply reports, never what was sent: a command only sends
/// and records what the readbacks should show next; a ramp is stepped as the readbacks come in, never faster than the
/// configured dI/dt, or set once per leg for a supply that ramps itself no faster than that (or at a rate unknown).
/// </summary>
/// <remarks>
/// <para>
/// First contact and every reconnect are read-only: a magnet found at current stays there (its setpoint becomes the
/// target) and nothing is written. A fault or interlock latches: the supply is made safe (output off, or ramped down,
/// per <see cref="MagnetSettings.SafeAction"/>) and only a reset that the following readbacks confirm (cause gone)
/// releases it. Requests a permissioned supply holds for an operator or denies are shown as such, never assumed done.
/// </para>
/// <para>
/// Thread safety: readbacks (poller) and commands (API) are serialised by one gate per magnet. <see cref="StateChanged"/>
/// and <see cref="AlarmRaised"/> are queued inside the gate and raised, in order, after it is released: a handler may
/// await a command to this same magnet.
/// </para>
/// The machine is declared in <see cref="Configure"/> below; ramps are in <c>.Ramp.cs</c>, faults, reset, disconnect and
/// request outcomes in <c>.Faults.cs</c>.
/// </remarks>
public sealed partial class MagnetController
{
    internal enum Trigger
    {
        Readback,
        PollFailed,
        RampTo,
        SwitchOn,
        SwitchOff,
        Standby,
        Reset,
    }

    /// <summary>A ramp asked for: signed target (negative = reversed polarity) and dI/dt.</summary>
    internal readonly record struct RampRequest(double Amps, double AmpsPerSecond);

    /// <summary>Conditions that mean an interlock (the output is held off by hardware until reset).</summary>
    public const MagnetConditions InterlockConditions =
        MagnetConditions.Interlock | MagnetConditions.WaterFlow | MagnetConditions.OverTemperature | MagnetConditions.Door;

    /// <summary>Conditions that mean a supply fault.</summary>
    public const MagnetConditions FaultConditions =
        MagnetConditions.OverVoltage | MagnetConditions.AcFailure | MagnetConditions.OtherFault;

    private readonly IMagnetSupply _hw;
    private readonly MagnetSettings _settings;
    private readonly MagnetCalibration? _calibration;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly EventOutbox _outbox;
    private readonly StateMachine<MagnetState, Trigger> _machine;
    private readonly StateMachine<MagnetState, Trigger>.TriggerWithParameters<MagnetObservation> _readback;
    private readonly StateMachine<MagnetState, Trigger>.TriggerWithParameters<Exception> _pollFailed;
    private readonly StateMachine<MagnetState, Trigger>.TriggerWithParameters<RampRequest> _rampTo;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private double _targetAmps;
    private MagnetReadback? _last;
    private DateTimeOffset? _lastTime;
    private DateTimeOffset? _inToleranceSince;
    private int _failures;
    // The command being carried out (for the refusal message), its token and its outcome; valid only inside the gate.
    private MagnetCommand _command;
    private CancellationToken _ct;
    private MagnetRequestResult _result = MagnetRequestResult.Done;
    private volatile MagnetSnapshot _snapshot;

    public MagnetController(IMagnetSupply supply, MagnetSettings settings, MagnetCalibration? calibration = null,
        TimeProvider? time = null, ILogger? log = null)
    {
        _hw = supply ?? throw new ArgumentNullException(nameof(supply));
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _settings.Validate();
        _calibration = calibration;
        _time = time ?? TimeProvider.System;
        _log = (log ?? Serilog.Core.Logger.None).ForContext<MagnetController>().ForContext("Magnet", supply.Name);
        _outbox = new EventOutbox($"Magnet {supply.Name}", _log);

        _machine = new StateMachine<MagnetState, Trigger>(MagnetState.Unknown, FiringMode.Queued);
        _readback = _machine.SetTriggerParameters<MagnetObservation>(Trigger.Readback);
        _pollFailed = _machine.SetTriggerParameters<Exception>(Trigger.PollFailed);
        _rampTo = _machine.SetTriggerParameters<RampRequest>(Trigger.RampTo);
        Configure();
        _snapshot = MakeSnapshot();
    }

    public string Name => _hw.Name;
    public IMagnetSupply Supply => _hw;
    public MagnetSettings Settings => _settings;
    public MagnetCalibration? Calibration => _calibration;
    public MagnetState State => _machine.State;

    /// <summary>Signed target current (negative = reversed): adopted at first contact, then the operator's.</summary>
    public double TargetAmps => _targetAmps;

    /// <summary>Raised for every alarm (also logged), after the magnet's gate is released.</summary>
    public event Action<MagnetAlarm>? AlarmRaised;

    /// <summary>Raised after every state change with (from, to), in order, after the magnet's gate is released.</summary>
    public event Action<MagnetState, MagnetState>? StateChanged;

    /// <summary>The magnet as last seen: an immutable record replaced at every change, cheap to read at any rate.</summary>
    public MagnetSnapshot Snapshot() => _snapshot;

    /// <summary>The machine as a UML dot graph (docs/magnet-states.dot is generated from it).</summary>
    public string ToDotGraph() => new StateGraph(_machine.GetInfo()).ToGraph(new ReadableGraphStyle((source, trigger) => (source, trigger) switch
    {
        (nameof(MagnetState.Ramping), nameof(Trigger.Readback)) =>
            "still ramping: next setpoint step (<= dI/dt x elapsed), wait at zero, polarity",
        (nameof(MagnetState.Latched), nameof(Trigger.Readback)) =>
            "not released: safe ramp-down steps; reset with the cause still shown is reported",
        (nameof(MagnetState.Operating), nameof(Trigger.Standby)) => "supply has standby, in REMOTE",
        _ => "supply in REMOTE",
    }));


    // ---------------------------------------------------------------------------------------------
    // The state machine, in one place.
    // ---------------------------------------------------------------------------------------------

    private void Configure()
    {
        var all = States(MagnetState.Off, MagnetState.Standby, MagnetState.Ramping, MagnetState.AtSetpoint,
            MagnetState.Fault, MagnetState.Interlocked);
        var operating = States(MagnetState.Off, MagnetState.Standby, MagnetState.Ramping, MagnetState.AtSetpoint);

        // First contact writes nothing: the supply's output, setpoint and polarity are adopted as read.
        _machine.Configure(MagnetState.Unknown)
            .PermitDynamic(_readback, AsReadBack, "first readback: setpoint adopted as target, nothing written", all)
            .PermitIf(_pollFailed, MagnetState.Disconnected, _ => TooManyFailures, "N consecutive failed reads")
            .IgnoreIf(_pollFailed, _ => !TooManyFailures, "fewer than N consecutive failed reads");

        // Recovers by itself on the next good read, read-only as at first contact; a latched fault stays latched.
        _machine.Configure(MagnetState.Disconnected)
            .OnEntryFrom(_pollFailed, OnDisconnected, "alarm, ramp stopped, readbacks stale")
            .PermitDynamic(_readback, o => _latch ?? o.State,
                "good read: setpoint adopted, nothing written; latched fault kept", all)
            .Ignore(Trigger.PollFailed);

        _machine.Configure(MagnetState.Connected)
            .PermitIf(_pollFailed, MagnetState.Disconnected, _ => TooManyFailures, "N consecutive failed reads")
            .IgnoreIf(_pollFailed, _ => !TooManyFailures, "fewer than N consecutive failed reads");

        // Normal operation: the state is what the output, |I - I_target|, the stable time and the ramp say.
        _machine.Configure(MagnetState.Operating)
            .SubstateOf(MagnetState.Connected)
            .PermitIf(_readback, MagnetState.Interlocked, o => o.State == MagnetState.Interlocked, "interlock, water, temperature or door")
            .PermitIf(_readback, MagnetState.Fault, o => o.State == MagnetState.Fault, "output FAULT, OVP, AC or other fault")
            .PermitDynamicIf(_readback, AsReadBack, o => IsOperating(o.State) && o.State != State,
                "output, |I - I_target| <= tolerance for stableTime, ramp under way", operating)
            .IgnoreIf(_readback, o => o.State == State && o.State != MagnetState.Ramping, "no change")
            .InternalTransitionAsyncIf(_rampTo, _ => InRemote(), SendRampToAsync)
            .InternalTransitionAsyncIf(Trigger.SwitchOn, InRemote, SendSwitchOnAsync)
            .InternalTransitionAsyncIf(Trigger.SwitchOff, InRemote, SendSwitchOffAsync)
            .InternalTransitionAsyncIf(Trigger.Standby, StandbyAllowed, SendStandbyAsync);
        foreach (var s in new[] { MagnetState.Off, MagnetState.Standby, MagnetState.AtSetpoint })
            _machine.Configure(s).SubstateOf(MagnetState.Operating);
        _machine.Configure(MagnetState.AtSetpoint).OnEntry(OnAtSetpoint, "log");

        // One setpoint step per readback, never above dI/dt (a supply that ramps itself no faster, or at a rate unknown,
        // gets its setpoint once per leg).
        _machine.Configure(MagnetState.Ramping)
            .SubstateOf(MagnetState.Operating)
            .OnEntryFromAsync(_readback, o => StepAsync(o.Readback), "first step of the ramp")
            .InternalTransitionAsyncIf(_readback, o => o.State == MagnetState.Ramping, (o, _) => StepAsync(o.Readback));

        // A fault or interlock latches: the supply is made safe at entry; a confirmed reset releases it.
        _machine.Configure(MagnetState.Latched)
            .SubstateOf(MagnetState.Connected)
            .OnExit(OnReleased, "log, latch cleared")
            .PermitDynamicIf(_readback, AsReadBack, o => _resetSent && IsOperating(o.State),
                "reset sent and the readbacks show the cause gone", operating)
            .InternalTransitionAsyncIf(_readback, o => !(_resetSent && IsOperating(o.State)), (o, _) => WhileLatchedAsync(o))
            .InternalTransitionAsyncIf(Trigger.Reset, InRemote, SendResetAsync)
            .InternalTransitionAsyncIf(Trigger.SwitchOff, InRemote, SendSwitchOffAsync);
        _machine.Configure(MagnetState.Fault)
            .SubstateOf(MagnetState.Latched)
            .OnEntryFromAsync(_readback, o => OnLatchedAsync(o, MagnetAlarmKind.Fault), "alarm; output off or ramp down (safe action)");
        _machine.Configure(MagnetState.Interlocked)
            .SubstateOf(MagnetState.Latched)
            .OnEntryFromAsync(_readback, o => OnLatchedAsync(o, MagnetAlarmKind.Interlocked), "alarm; output off or ramp down (safe action)");

        _machine.OnTransitionCompleted(t =>
        {
            if (t.Source == t.Destination) return;
            _log.Information("Magnet {Magnet}: {From} -> {To} on {Trigger}", Name, t.Source, t.Destination, t.Trigger);
            _snapshot = MakeSnapshot();
            var (from, to) = (t.Source, t.Destination);
            _outbox.Post(StateChanged, h => h(from, to), nameof(StateChanged));
        });
        _machine.OnUnhandledTrigger((state, trigger, unmet) => throw Refusal(state, trigger));
    }

    private static DynamicStateInfos States(params MagnetState[] states)
    {
        var infos = new DynamicStateInfos();
        foreach (var s in states) infos.Add(s, s.ToString());
        return infos;
    }

    private static MagnetState AsReadBack(MagnetObservation o) => o.State;

    private static bool IsOperating(MagnetState s) =>
        s is MagnetState.Off or MagnetState.Standby or MagnetState.Ramping or MagnetState.AtSetpoint;

    private bool TooManyFailures => _failures >= _settings.FailuresBeforeDisconnected;

    /// <summary>In LOCAL (front panel) the supply refuses remote requests: refuse before sending.</summary>
    private bool InRemote() => _last is not { } r || !r.Conditions.HasFlag(MagnetConditions.Local);

    private bool StandbyAllowed() => InRemote() && _hw.Capabilities.HasStandby;

    /// <summary>A current in the controller's sign convention: negative when the polarity is reversed.</summary>
    internal static double Signed(double magnitude, MagnetPolarity polarity) =>
        polarity == MagnetPolarity.Reversed ? -Math.Abs(magnitude) : Math.Abs(magnitude);

    /// <summary>
    /// What a readback says the magnet is doing. Interlock conditions before faults (the more specific cause); AtSetpoint
    /// needs no ramp under way and |I - I_target| within tolerance for the stable time (the clock restarts otherwise).
    /// </summary>
    private MagnetState Classify(MagnetReadback r, DateTimeOffset now)
    {
        if ((r.Conditions & InterlockConditions) != 0) return MagnetState.Interlocked;
        if (r.Output == MagnetOutput.Fault || (r.Conditions & FaultConditions) != 0) return MagnetState.Fault;
        double amps = Signed(r.Amps, r.Polarity);
        if (r.Output != MagnetOutput.On)
        {
            _inToleranceSince = null;
            if (r.Output == MagnetOutput.Standby) return MagnetState.Standby;
            // Off but current still flowing (the magnet discharging): not Off yet.
            return Math.Abs(amps) <= _settings.ToleranceAmps ? MagnetState.Off : MagnetState.Ramping;
        }
        if (_plan is not null || Math.Abs(amps - _targetAmps) > _settings.ToleranceAmps)
        {
            _inToleranceSince = null;
            return MagnetState.Ramping;
        }
        _inToleranceSince ??= now;
        return now - _inToleranceSince.Value >= _settings.StableTime ? MagnetState.AtSetpoint : MagnetState.Ramping;
    }

    /// <summary>First contact or reconnect: adopt what the supply does (a magnet at current stays there), write nothing.</summary>
    private void Adopt(MagnetReadback r, DateTimeOffset now)
    {
        _plan = null;
        _targetAmps = r.Output is MagnetOutput.On or MagnetOutput.Standby ? Signed(r.SetpointAmps, r.Polarity) : 0;
        // A supply that ramps itself may be found still slewing towards its setpoint.
        _setpointLeftToSupply = _hw.Capabilities.RampsItself;
        // Found on and at its setpoint: it has been there before we looked, so it is AtSetpoint at once.
        if (r.Output == MagnetOutput.On && Math.Abs(Signed(r.Amps, r.Polarity) - _targetAmps) <= _settings.ToleranceAmps)
            _inToleranceSince = now - _settings.StableTime;
        _log.Information("Magnet {Magnet}: contact, output {Output} at {Amps} A, setpoint {Setpoint} A {Polarity}; target adopted, nothing written",
            Name, r.Output, r.Amps, r.SetpointAmps, r.Polarity);
    }

    private Exception Refusal(MagnetState state, Trigger trigger)
    {
        // Readbacks and poll failures have a transition in every state: reaching here is a bug in the machine.
        if (trigger is Trigger.Readback or Trigger.PollFailed)
            return new InvalidOperationException($"{Name}: no transition for {trigger} in state {state}");
        string reason = !InRemote()
            ? "supply in LOCAL (front panel); it refuses remote requests"
            : (state, trigger) switch
            {
                (MagnetState.Unknown, _) => "no readback from the supply yet",
                (MagnetState.Disconnected, _) => "supply disconnected",
                (MagnetState.Fault or MagnetState.Interlocked, _) => $"{state} is latched; reset it first (the supply must report the cause gone)",
                (_, Trigger.Standby) => "this supply has no standby",
                (_, Trigger.Reset) => $"nothing to reset in state {state}",
                _ => $"not allowed in state {state}",
            };
        return new MagnetCommandRefusedException(Name, _command, reason);
    }

    // ---------------------------------------------------------------------------------------------
    // Inputs
    // ---------------------------------------------------------------------------------------------

    /// <summary>Feeds one read of the supply (called by <see cref="MagnetPoller"/>).</summary>
    public async Task OnReadbackAsync(MagnetReadback readback, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(readback);
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _ct = ct;
            var now = _time.GetUtcNow();
            _failures = 0;
            _last = readback;
            _lastTime = now;
            if (State is MagnetState.Unknown or MagnetState.Disconnected) Adopt(readback, now);
            CheckPending(readback);
            await _machine.FireAsync(_readback, new MagnetObservation(readback, Classify(readback, now))).ConfigureAwait(false);
        }
        finally
        {
            ReleaseGate();
        }
    }

    /// <summary>Reports a failed read; after <see cref="MagnetSettings.FailuresBeforeDisconnected"/> in a row the magnet is Disconnected.</summary>
    public async Task OnPollFailedAsync(Exception error, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(error);
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _ct = ct;
            _failures++;
            await _machine.FireAsync(_pollFailed, error).ConfigureAwait(false);
        }
        finally
        {
            ReleaseGate();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Operator commands (limits checked before the gate: a refused value never reaches the wire)
    // ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Takes the magnet to <paramref name="amps"/> (signed: negative = reversed polarity, through zero with the wait)
    /// at <paramref name="ampsPerSecond"/> (default <see cref="MagnetSettings.RampAmpsPerSecond"/>), switching the
    /// output on first when it is off. Returns once the first request is sent, with its outcome; the state follows
    /// the readbacks (Ramping, then AtSetpoint).
    /// </summary>
    public Task<MagnetRequestResult> RampToAsync(double amps, double? ampsPerSecond = null, CancellationToken ct = default)
    {
        double rate = ampsPerSecond ?? _settings.RampAmpsPerSecond;
        CheckCurrent(amps);
        CheckRate(rate);
        return CommandAsync(MagnetCommand.RampTo, () => _machine.FireAsync(_rampTo, new RampRequest(amps, rate)), ct);
    }

    /// <summary>Ramps to the current that gives <paramref name="teslaMetres"/> of integral field (from the calibration).</summary>
    public Task<MagnetRequestResult> RampToFieldAsync(double teslaMetres, double? ampsPerSecond = null, CancellationToken ct = default)
    {
        var calibration = _calibration ?? throw new MagnetCommandRefusedException(Name, MagnetCommand.RampTo, "no field calibration configured");
        return RampToAsync(calibration.AmpsFor(teslaMetres), ampsPerSecond, ct);
    }

    /// <summary>Ramps to the field that bends <paramref name="gevPerC"/> by <paramref name="angleRadians"/> (from the calibration).</summary>
    public Task<MagnetRequestResult> RampToMomentumAsync(double gevPerC, double angleRadians, double? ampsPerSecond = null,
        CancellationToken ct = default) =>
        RampToFieldAsync(MagnetCalibration.FieldForMomentum(gevPerC, angleRadians), ampsPerSecond, ct);

    /// <summary>
    /// Output on. A supply the controller steps at the default dI/dt (see <see cref="MagnetCapabilities.OwnRampAmpsPerSecond"/>)
    /// gets setpoint 0 first (it must not jump or slew too fast to an old setpoint) and the target becomes 0; one that
    /// ramps itself no faster (or at a rate unknown) keeps its setpoint and slews there at its own rate.
    /// </summary>
    public Task<MagnetRequestResult> SwitchOnAsync(CancellationToken ct = default) =>
        CommandAsync(MagnetCommand.SwitchOn, () => _machine.FireAsync(Trigger.SwitchOn), ct);

    /// <summary>Output off at once (any ramp stops); to bring the current down gently, ramp to 0 first.</summary>
    public Task<MagnetRequestResult> SwitchOffAsync(CancellationToken ct = default) =>
        CommandAsync(MagnetCommand.SwitchOff, () => _machine.FireAsync(Trigger.SwitchOff), ct);

    /// <summary>Standby (beam-line converters only; refused with nothing sent for a supply without standby).</summary>
    public Task<MagnetRequestResult> StandbyAsync(CancellationToken ct = default) =>
        CommandAsync(MagnetCommand.Standby, () => _machine.FireAsync(Trigger.Standby), ct);

    /// <summary>
    /// Asks the supply to clear a latched fault or interlock. The controller's latch is released only when a following
    /// readback shows the cause gone; otherwise a <see cref="MagnetAlarmKind.ResetIneffective"/> alarm says so.
    /// </summary>
    public Task<MagnetRequestResult> ResetAsync(CancellationToken ct = default) =>
        CommandAsync(MagnetCommand.Reset, () => _machine.FireAsync(Trigger.Reset), ct);

    private void CheckCurrent(double amps)
    {
        double max = _hw.Limits.MaxAmps;
        if (!double.IsFinite(amps) || Math.Abs(amps) > max)
            throw new SetpointOutOfRangeException(Name, "current (A)", amps, max, "supply maxAmps");
        if (amps < 0 && !_hw.Capabilities.HasPolaritySwitch)
            throw new SetpointOutOfRangeException(Name, "current (A)", amps, 0, "minimum without a polarity switch");
    }

    private void CheckRate(double ampsPerSecond)
    {
        if (!double.IsFinite(ampsPerSecond) || ampsPerSecond > _settings.MaxRampAmpsPerSecond)
            throw new SetpointOutOfRangeException(Name, "dI/dt (A/s)", ampsPerSecond, _settings.MaxRampAmpsPerSecond, "maxRampAmpsPerSecond");
        if (ampsPerSecond <= 0)
            throw new SetpointOutOfRangeException(Name, "dI/dt (A/s)", ampsPerSecond, 0, "must be above the minimum");
    }

    private async Task<MagnetRequestResult> CommandAsync(MagnetCommand command, Func<Task> fire, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _ct = ct;
            _command = command;
            _result = MagnetRequestResult.Done;
            await fire().ConfigureAwait(false);
            return _result;
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

    private void Raise(AlarmSeverity severity, MagnetAlarmKind kind, string message)
    {
        var alarm = new MagnetAlarm(_time.GetUtcNow(), Name, severity, kind, message);
        _log.Warning("Magnet alarm {Severity} {Kind} on {Magnet}: {Message}", severity, kind, Name, message);
        _outbox.Post(AlarmRaised, h => h(alarm), nameof(AlarmRaised));
    }

    private MagnetSnapshot MakeSnapshot()
    {
        var r = _last;
        double? amps = r is null ? null : Signed(r.Amps, r.Polarity);
        double? field = amps is { } a && _calibration is { } c && c.TryFieldAt(a, out double f) ? f : null;
        return new MagnetSnapshot(Name, State, _targetAmps, r is null ? null : Signed(r.SetpointAmps, r.Polarity), amps,
            r?.Volts, r?.Output, r?.Polarity, field, r?.Conditions ?? MagnetConditions.None, _plan?.Phase ?? MagnetRampPhase.None,
            _pending?.What, _lastDenied, _failures, _lastTime, r?.Detail);
    }

    private static string A(double amps) => amps.ToString("0.###", CultureInfo.InvariantCulture);
}
