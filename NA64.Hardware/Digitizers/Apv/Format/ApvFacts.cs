namespace NA64.Hardware.Digitizers.Apv.Format;

/// <summary>
/// Numbers of the APV25 / APV-ADC / GeSiCA chain that every tracker part shares (data-formats §7, na64-setup §8).
/// Defined once here; the readout, the simulators and the mux/cluster code take them from this class.
/// </summary>
public static class ApvFacts
{
    /// <summary>Channels of one APV25 chip (data positions and physical channels 0..127).</summary>
    public const int ChannelsPerApv = 128;

    /// <summary>Samples per channel and trigger in triple-frame readout (3 frames 25 ns apart).</summary>
    public const int Frames = 3;

    /// <summary>Largest amplitude of the 10-bit latch-all fields.</summary>
    public const int MaxAmplitude = 1023;

    /// <summary>Cells of the APV25 analogue pipeline; pipeline addresses count modulo this.</summary>
    public const int PipelineColumns = 192;

    /// <summary>APVs digitised by one APV-ADC module (the NA64 thesis value); configurable where it matters.</summary>
    public const int ApvsPerAdc = 4;

    /// <summary>S-Link source id of the NA64 micromegas GeSiCA (data-formats §5.5).</summary>
    public const int DefaultSourceId = 622;
}
