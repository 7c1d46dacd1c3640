namespace NA64.Hardware.Digitizers.Msadc;

/// <summary>
/// Device contract of one sampling-ADC module (one HotLink port: 4 chips × 16 channels). Implemented by the driver
/// <see cref="MsadcModule"/> (over a datagram channel) and by the simulator's device model (in process).
/// </summary>
public interface IDigitizer
{
    string Name { get; }
    int SourceId { get; }
    int Port { get; }

    /// <summary>Loads mode, samples, latency and every channel's pedestals and threshold. Refuses bad values before sending.</summary>
    Task ConfigureAsync(MsadcConfiguration configuration, CancellationToken cancellationToken = default);

    Task<MsadcConfiguration> ReadConfigurationAsync(CancellationToken cancellationToken = default);

    /// <summary>Idle → Armed: the module accepts START.</summary>
    Task ArmAsync(CancellationToken cancellationToken = default);

    /// <summary>Armed → Running: triggers are digitised.</summary>
    Task StartAsync(CancellationToken cancellationToken = default);

    /// <summary>Any state → Idle.</summary>
    Task StopAsync(CancellationToken cancellationToken = default);

    Task<MsadcStatus> ReadStatusAsync(CancellationToken cancellationToken = default);
}
