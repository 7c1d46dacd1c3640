namespace NA64.Hardware.Hv.CaenN1470;

/// <summary>
/// One channel of a <see cref="CaenN1470Board"/> as the kind-neutral <see cref="IHvChannel"/>: the board's
/// index-based methods with the index bound. Holds no state of its own.
/// </summary>
internal sealed class CaenN1470HvChannel(CaenN1470Board board, int index) : IHvChannel
{
    public string Name => board.Limits[index].Name;

    public string BoardName => board.Name;

    public int Index => index;

    public HvChannelLimits Limits => board.Limits[index];

    public double VoltageResolution => board.VoltageResolution(index);

    public Task SetVoltageAsync(double volts, CancellationToken cancellationToken = default) =>
        board.SetVoltageAsync(index, volts, cancellationToken);

    public Task SetCurrentLimitAsync(double microamps, CancellationToken cancellationToken = default) =>
        board.SetCurrentLimitAsync(index, microamps, cancellationToken);

    public Task SetRampUpAsync(double voltsPerSecond, CancellationToken cancellationToken = default) =>
        board.SetRampUpAsync(index, voltsPerSecond, cancellationToken);

    public Task SetRampDownAsync(double voltsPerSecond, CancellationToken cancellationToken = default) =>
        board.SetRampDownAsync(index, voltsPerSecond, cancellationToken);

    public Task SwitchOnAsync(CancellationToken cancellationToken = default) => board.SwitchOnAsync(index, cancellationToken);

    public Task SwitchOffAsync(CancellationToken cancellationToken = default) => board.SwitchOffAsync(index, cancellationToken);

    public override string ToString() => $"{BoardName} CH:{index} ({Name})";
}
