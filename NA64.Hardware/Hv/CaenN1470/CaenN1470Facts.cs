namespace NA64.Hardware.Hv.CaenN1470;

/// <summary>What every CAEN N1470 is, written once (device-protocols.md §1.1): the setup validates against these.</summary>
public static class CaenN1470Facts
{
    /// <summary>Channels per board.</summary>
    public const int Channels = 4;

    /// <summary>RS-485 board addresses 0..31.</summary>
    public const int MinAddress = 0;

    public const int MaxAddress = CaenN1470Protocol.MaxBoardAddress;

    /// <summary>Hardware ceiling of a channel: 8 kV.</summary>
    public const double MaxVolts = 8000;

    /// <summary>Hardware ceiling of a channel: 3 mA.</summary>
    public const double MaxMicroamps = 3000;
}
