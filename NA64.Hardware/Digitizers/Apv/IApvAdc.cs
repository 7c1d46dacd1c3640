namespace NA64.Hardware.Digitizers.Apv;

/// <summary>
/// Device contract of one APV-ADC (up to 4 APV25 chips of 128 channels behind one ADC id of an S-Link source).
/// Implemented by the driver <see cref="ApvAdcModule"/> (over a datagram channel) and by the simulator's device model
/// (in process). Not <c>IDigitizer</c>: that contract carries MSADC configuration and a HotLink port, neither of
/// which an APV-ADC has.
/// </summary>
public interface IApvAdc
{
    string Name { get; }
    int SourceId { get; }
    int AdcId { get; }

    /// <summary>Loads mode, latency and the pedestal/sigma/threshold tables. Refuses bad values before sending.</summary>
    Task ConfigureAsync(ApvAdcConfiguration configuration, CancellationToken cancellationToken = default);

    /// <summary>Loads the three tables only (after a pedestal run), verified by reading every entry back.</summary>
    Task DownloadTablesAsync(IReadOnlyList<ApvChannelSettings> channels, CancellationToken cancellationToken = default);

    Task<ApvAdcConfiguration> ReadConfigurationAsync(CancellationToken cancellationToken = default);

    /// <summary>Idle → Armed: the module accepts START.</summary>
    Task ArmAsync(CancellationToken cancellationToken = default);

    /// <summary>Armed → Running: triggers are read out.</summary>
    Task StartAsync(CancellationToken cancellationToken = default);

    /// <summary>Any state → Idle.</summary>
    Task StopAsync(CancellationToken cancellationToken = default);

    Task<ApvAdcStatus> ReadStatusAsync(CancellationToken cancellationToken = default);
}
