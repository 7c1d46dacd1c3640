using System.IO.Ports;
using FsCheck;
using FsCheck.Fluent;
using NA64.Hardware.Transport;

namespace NA64.Hardware.Tests.Transport;

public sealed class EndpointAddressTests
{
    [Fact]
    public void A_serial_address_with_every_option()
    {
        var address = EndpointAddress.Parse("serial:/dev/ttyUSB0?baud=115200&parity=even&databits=7&stopbits=2&flow=xonxoff");
        Assert.Equal(EndpointKind.Serial, address.Kind);
        Assert.Equal(new SerialSettings("/dev/ttyUSB0", 115200, Parity.Even, 7, StopBits.Two, Handshake.XOnXOff), address.Serial);
        var endpoint = Assert.IsType<SerialEndpoint>(address.CreateEndpoint());
        Assert.Equal("serial:/dev/ttyUSB0?baud=115200&parity=even&databits=7&stopbits=2&flow=xonxoff", endpoint.Address);
    }

    [Fact]
    public void A_bare_serial_address_takes_9600_8N1_without_flow_control()
    {
        var address = EndpointAddress.Parse("serial:/dev/ttyS0");
        Assert.Equal(new SerialSettings("/dev/ttyS0", 9600, Parity.None, 8, StopBits.One, Handshake.None), address.Serial);
    }

    [Theory]
    [InlineData("rtscts", Handshake.RequestToSend)]
    [InlineData("none", Handshake.None)]
    [InlineData("XONXOFF", Handshake.XOnXOff)]
    public void Flow_control_names(string flow, Handshake expected) =>
        Assert.Equal(expected, EndpointAddress.Parse($"serial:/dev/ttyUSB1?flow={flow}").Serial!.Handshake);

    [Theory]
    [InlineData("tcp:ndt1470.cern.ch:1470", "ndt1470.cern.ch", 1470)]
    [InlineData("tcp:192.168.0.10:10001", "192.168.0.10", 10001)]
    [InlineData("tcp:[::1]:1470", "::1", 1470)]
    public void Tcp_addresses(string text, string host, int port)
    {
        var address = EndpointAddress.Parse(text);
        Assert.Equal(EndpointKind.Tcp, address.Kind);
        Assert.Equal(host, address.Host);
        Assert.Equal(port, address.Port);
        Assert.Equal(text, address.ToString());
        var endpoint = Assert.IsType<TcpEndpoint>(address.CreateEndpoint());
        Assert.Equal(text, endpoint.Address);
    }

    [Fact]
    public void Sim_and_pty_addresses()
    {
        var sim = EndpointAddress.Parse("sim");
        Assert.Equal(EndpointKind.Sim, sim.Kind);
        Assert.Throws<InvalidOperationException>(() => sim.CreateEndpoint());

        var pty = EndpointAddress.Parse("pty?baud=19200");
        Assert.Equal(EndpointKind.Pty, pty.Kind);
        Assert.Equal(19200, pty.Serial!.BaudRate);
        Assert.Throws<InvalidOperationException>(() => pty.CreateEndpoint());
        var client = Assert.IsType<SerialEndpoint>(pty.CreateEndpoint("/dev/pts/7"));
        Assert.Equal("/dev/pts/7", client.Settings.PortName);
        Assert.Equal(19200, client.Settings.BaudRate);
        Assert.Equal(EndpointKind.Pty, EndpointAddress.Parse("pty").Kind);
    }

    [Theory]
    [InlineData("serial:/dev/ttyUSB0?baud=fast", "baud", "fast")]
    [InlineData("serial:/dev/ttyUSB0?baud=-9600", "baud", "-9600")]
    [InlineData("serial:/dev/ttyUSB0?parity=odd-ish", "parity", "odd-ish")]
    [InlineData("serial:/dev/ttyUSB0?databits=9", "databits", "9")]
    [InlineData("serial:/dev/ttyUSB0?stopbits=3", "stopbits", "3")]
    [InlineData("serial:/dev/ttyUSB0?flow=hardware", "flow", "hardware")]
    [InlineData("serial:/dev/ttyUSB0?speed=9600", "option", "speed")]
    [InlineData("serial:/dev/ttyUSB0?baud", "option", "baud")]
    [InlineData("serial:/dev/ttyUSB0?baud=9600&baud=19200", "baud", "19200")]
    [InlineData("serial:", "device", "")]
    [InlineData("serial:?baud=9600", "device", "")]
    [InlineData("tcp:host", "port", "")]
    [InlineData("tcp:host:0", "port", "0")]
    [InlineData("tcp:host:70000", "port", "70000")]
    [InlineData("tcp:host:14x0", "port", "14x0")]
    [InlineData("tcp::1470", "host", "")]
    [InlineData("tcp:::1:1470", "host", "::1")]
    [InlineData("udp:host:1470", "kind", "udp")]
    [InlineData("", "kind", "")]
    [InlineData("sim:1", "sim", ":1")]
    [InlineData("ptyx", "kind", "ptyx")]
    public void Invalid_addresses_name_the_field_the_value_and_what_is_allowed(string text, string field, string value)
    {
        var error = Assert.Throws<FormatException>(() => EndpointAddress.Parse(text));
        Assert.Contains($"'{text}'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"{field} = '{value}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("allowed:", error.Message, StringComparison.Ordinal);
    }

    private static readonly Gen<SerialSettings> SerialSettingsGen =
        from device in Gen.Elements("/dev/ttyUSB0", "/dev/ttyS1", "/dev/pts/12", "/dev/serial/by-id/usb-FTDI_FT232R-if00-port0", "COM3")
        from baud in Gen.Choose(1, 10_000_000)
        from parity in Gen.Elements(Parity.None, Parity.Odd, Parity.Even, Parity.Mark, Parity.Space)
        from dataBits in Gen.Choose(5, 8)
        from stopBits in Gen.Elements(StopBits.One, StopBits.OnePointFive, StopBits.Two)
        from handshake in Gen.Elements(Handshake.None, Handshake.XOnXOff, Handshake.RequestToSend, Handshake.RequestToSendXOnXOff)
        select new SerialSettings(device, baud, parity, dataBits, stopBits, handshake);

    [Fact]
    public void Every_serial_setting_survives_format_then_parse() =>
        Prop.ForAll(SerialSettingsGen.ToArbitrary(), settings =>
                EndpointAddress.Parse(settings.ToString()).Serial == settings)
            .QuickCheckThrowOnFailure();

    [Fact]
    public void Arbitrary_text_parses_or_raises_FormatException_and_nothing_else() =>
        Prop.ForAll(ArbMap.Default.ArbFor<string>(), text =>
            {
                if (text is null)
                {
                    return true;
                }

                try
                {
                    var parsed = EndpointAddress.Parse(text);
                    return EndpointAddress.Parse(parsed.ToString()) == parsed;
                }
                catch (FormatException)
                {
                    return true;
                }
            })
            .QuickCheckThrowOnFailure();
}
