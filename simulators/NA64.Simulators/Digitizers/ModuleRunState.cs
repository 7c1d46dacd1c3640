using NA64.Hardware.Digitizers.Msadc;

namespace NA64.Simulators.Digitizers;

/// <summary>
/// The run-state rule of a simulated readout module (MSADC, APV-ADC), the simulator's own: Idle -ARM-> Armed -START->
/// Running, STOP from anywhere to Idle; ARM or START in another state is WrongState, anything else an unknown command.
/// </summary>
public static class ModuleRunState
{
    /// <summary>The reply to <paramref name="opcode"/> in <paramref name="state"/>, and the state after it.</summary>
    public static (MsadcReplyStatus Status, MsadcRunState Next) Apply(MsadcRunState state, MsadcOpcode opcode) => opcode switch
    {
        MsadcOpcode.Arm when state == MsadcRunState.Idle => (MsadcReplyStatus.Ok, MsadcRunState.Armed),
        MsadcOpcode.Start when state == MsadcRunState.Armed => (MsadcReplyStatus.Ok, MsadcRunState.Running),
        MsadcOpcode.Stop => (MsadcReplyStatus.Ok, MsadcRunState.Idle),
        MsadcOpcode.Arm or MsadcOpcode.Start => (MsadcReplyStatus.WrongState, state),
        _ => (MsadcReplyStatus.UnknownOpcode, state),
    };
}
