using NA64.Simulators.Physics;
using NA64.Hardware.Hv.CaenN1470;
using Serilog;

namespace NA64.Simulators.Hv.CaenN1470;

/// <summary>
/// Physics and state of one CAEN N1470 board (no bytes; <see cref="CaenN1470Wire"/> is the protocol side).
/// The state is advanced lazily and exactly from the <see cref="TimeProvider"/> on every access, so the model
/// needs no thread of its own. Thread-safe: every access takes the board lock.
/// Methods marked "backdoor" stand for the front panel, the KILL and interlock inputs and test faults; they
/// are never reachable through the wire protocol.
/// </summary>
public sealed class CaenN1470BoardModel
{
    private readonly TimeProvider _time;
    private readonly long _originTimestamp;
    private readonly CaenN1470Channel[] _channels;
    private bool _local;
    private bool _killInput;
    private CaenInterlockState _interlockMode = CaenInterlockState.Open;
    private CaenInterlockState _interlockInput = CaenInterlockState.Closed;
    private CaenBoardAlarm _alarm;

    /// <param name="address">BD address on the RS-485 chain, 0..31.</param>
    /// <param name="time">the simulation clock.</param>
    /// <param name="personality">model identity and ranges; <see cref="CaenN1470Personality.N1470"/> when null.</param>
    /// <param name="loads">one load per channel; <see cref="CaenN1470Load.Default"/> for missing entries.</param>
    /// <param name="spill">the beam cycle; <see cref="SpillCycle.Sps"/> when null.</param>
    public CaenN1470BoardModel(
        int address,
        TimeProvider time,
        CaenN1470Personality? personality = null,
        IReadOnlyList<CaenN1470Load>? loads = null,
        SpillCycle? spill = null,
        ILogger? log = null)
    {
        if (address is < 0 or > 31)
        {
            throw new ArgumentOutOfRangeException(nameof(address), address, $"address is {address}; a CAEN RS-485 chain has addresses 0 to 31.");
        }

        ArgumentNullException.ThrowIfNull(time);
        Personality = personality ?? CaenN1470Personality.N1470;
        Personality.Validate();
        Spill = spill ?? SpillCycle.Sps;
        Spill.Validate();
        Address = address;
        Log = (log ?? Serilog.Core.Logger.None).ForContext<CaenN1470BoardModel>().ForContext("Board", address);
        _time = time;
        _originTimestamp = time.GetTimestamp();
        _channels = new CaenN1470Channel[Personality.ChannelCount];
        for (var i = 0; i < _channels.Length; i++)
        {
            var load = loads is not null && i < loads.Count ? loads[i] : CaenN1470Load.Default;
            _channels[i] = new CaenN1470Channel(this, i, Personality.Polarities[i], load);
        }
    }

    public int Address { get; }

    public CaenN1470Personality Personality { get; }

    public SpillCycle Spill { get; }

    public IReadOnlyList<CaenN1470Channel> Channels => _channels;

    /// <summary>The lock that guards the whole board; the wire holds it for a whole request.</summary>
    internal Lock Gate { get; } = new();

    internal ILogger Log { get; }

    /// <summary>Simulated time since the board was created.</summary>
    public TimeSpan Elapsed => _time.GetElapsedTime(_originTimestamp);

    /// <summary>True while the SPS delivers beam (spill phase from the clock).</summary>
    public bool InSpill
    {
        get
        {
            lock (Gate)
            {
                return Spill.InSpill(Elapsed.TotalSeconds);
            }
        }
    }

    /// <summary>BDCTR: true = LOCAL (front panel), false = REMOTE.</summary>
    public bool IsLocal
    {
        get
        {
            lock (Gate)
            {
                return _local;
            }
        }
    }

    /// <summary>BDILKM.</summary>
    public CaenInterlockState InterlockMode
    {
        get
        {
            lock (Gate)
            {
                return _interlockMode;
            }
        }
    }

    /// <summary>BDILK: the interlock input is in the state that BDILKM calls active.</summary>
    public bool InterlockActive
    {
        get
        {
            lock (Gate)
            {
                return _interlockInput == _interlockMode;
            }
        }
    }

    /// <summary>True while the KILL input is asserted.</summary>
    public bool KillInput
    {
        get
        {
            lock (Gate)
            {
                return _killInput;
            }
        }
    }

    /// <summary>BDALARM.</summary>
    public CaenBoardAlarm Alarm
    {
        get
        {
            lock (Gate)
            {
                AdvanceLocked();
                return _alarm;
            }
        }
    }

    /// <summary>BDILKM SET: choose which input state is the active one; applies the interlock if it now is.</summary>
    public void SetInterlockMode(CaenInterlockState mode)
    {
        lock (Gate)
        {
            AdvanceLocked();
            _interlockMode = mode;
            ApplyInterlockLocked();
        }
    }

    /// <summary>BDCLR: clears the board alarm bits and the latched channel flags whose cause is gone.</summary>
    public void ClearAlarms()
    {
        lock (Gate)
        {
            AdvanceLocked();
            _alarm = CaenBoardAlarm.None;
            foreach (var channel in _channels)
            {
                channel.ClearLatchesLocked();
            }

            Log.Information("HV board {Board} alarms cleared", Address);
        }
    }

    /// <summary>Backdoor: the front-panel LOCAL/REMOTE switch.</summary>
    public void SetLocal(bool local)
    {
        lock (Gate)
        {
            _local = local;
            Log.Information("HV board {Board} control mode {Mode}", Address, local ? "LOCAL" : "REMOTE");
        }
    }

    /// <summary>Backdoor: the state of the interlock input connector.</summary>
    public void SetInterlockInput(CaenInterlockState input)
    {
        lock (Gate)
        {
            AdvanceLocked();
            _interlockInput = input;
            ApplyInterlockLocked();
        }
    }

    /// <summary>Backdoor: the KILL input; while asserted every channel is off with KILL (dropped at once).</summary>
    public void SetKillInput(bool asserted)
    {
        lock (Gate)
        {
            AdvanceLocked();
            _killInput = asserted;
            if (asserted)
            {
                Log.Warning("HV board {Board} KILL input asserted", Address);
                foreach (var channel in _channels)
                {
                    channel.ForceOffLocked(CaenN1470Channel.Latch.Kill, CaenPowerDownMode.Kill);
                }
            }
        }
    }

    /// <summary>Backdoor: raise board alarm bits (power fail, OVP, HV clock) until BDCLR.</summary>
    public void RaiseAlarm(CaenBoardAlarm alarm)
    {
        lock (Gate)
        {
            AdvanceLocked();
            _alarm |= alarm;
        }
    }

    /// <summary>Brings every channel to the present simulated time.</summary>
    internal void AdvanceLocked()
    {
        var now = Elapsed.TotalSeconds;
        foreach (var channel in _channels)
        {
            channel.IntegrateLocked(now);
        }
    }

    internal void SetChannelAlarmLocked(int channel, bool on)
    {
        var bit = (CaenBoardAlarm)(1 << channel);
        _alarm = on ? _alarm | bit : _alarm & ~bit;
    }

    /// <summary>The cause that keeps a channel off right now (ON is accepted but has no effect), if any.</summary>
    internal CaenN1470Channel.Latch BlockingCauseLocked(CaenN1470Channel channel)
    {
        var cause = CaenN1470Channel.Latch.None;
        if (_interlockInput == _interlockMode)
        {
            cause |= CaenN1470Channel.Latch.Interlock;
        }

        if (_killInput)
        {
            cause |= CaenN1470Channel.Latch.Kill;
        }

        if (channel.DisableSwitchLocked)
        {
            cause |= CaenN1470Channel.Latch.Disabled;
        }

        return cause;
    }

    private void ApplyInterlockLocked()
    {
        if (_interlockInput != _interlockMode)
        {
            return;
        }

        Log.Warning("HV board {Board} interlock active (mode {Mode}, input {Input})", Address, _interlockMode, _interlockInput);
        foreach (var channel in _channels)
        {
            channel.ForceOffLocked(CaenN1470Channel.Latch.Interlock, Personality.InterlockPowerDown);
        }
    }
}
