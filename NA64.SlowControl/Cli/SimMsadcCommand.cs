using System.CommandLine;
using System.Globalization;
using System.Net;
using NA64.Hardware.Digitizers.Msadc;
using NA64.SlowControl.Readout;
using NA64.SlowControl.Setup;
using NA64.Simulators.Digitizers.Msadc;
using NA64.Simulators.Physics;
using Serilog;

namespace NA64.SlowControl.Cli;

/// <summary>
/// <c>na64hw sim msadc --udp PORT [--trigger beam|random]</c>: the setup's MSADC crate simulated on real UDP sockets for a
/// host in another process. Module k's control server listens on PORT + k; each source sends its fragments to its
/// <c>readout.sources[].data</c> endpoint (the host's). The TCS fires while every module is running.
/// </summary>
internal static class SimMsadcCommand
{
    public static Command Build(ILogger log)
    {
        var udp = new Option<int>("--udp") { Description = "First control port: module k of the setup answers on PORT + k", Required = true };
        var bind = new Option<string>("--bind") { Description = "Address the control servers listen on", DefaultValueFactory = _ => "127.0.0.1" };
        var trigger = new Option<string>("--trigger") { Description = "What the TCS fires while every module runs: beam or random (no beam: pedestal runs)", DefaultValueFactory = _ => "beam" };
        var msadc = new Command("msadc", "The setup's MSADC crate (modules + trigger system) on UDP, for a host with udp: endpoints") { udp, bind, trigger };
        msadc.SetAction(async (parse, ct) =>
        {
            var readout = CommonOptions.LoadSetup(parse).Readout;
            int first = parse.GetValue(udp);
            string mode = parse.GetValue(trigger) ?? "beam";
            int count = readout?.AllModules.Count() ?? 0;
            var problem = readout is null ? "the setup has no 'readout:' section: no MSADC modules to simulate"
                : first is < 1 or > 65535 || first + count - 1 > 65535 ? $"--udp is {first}; PORT .. PORT + {count - 1} must be in 1..65535"
                : !IPAddress.TryParse(parse.GetValue(bind), out _) ? $"--bind is '{parse.GetValue(bind)}'; it must be an IP address"
                : mode is not ("beam" or "random") ? $"--trigger is '{mode}'; it must be beam or random"
                : DataTargets(readout, out _);
            if (problem is not null)
            {
                Console.Error.WriteLine($"Refused: {problem}");
                return 2;
            }

            DataTargets(readout!, out var targets);
            var modules = readout!.AllModules.Select(x => new SimulatedMsadcModule(x.Module.Name, x.Source.SourceId, x.Module.Port, x.Module.FirstChannel)).ToArray();
            var generator = new Na64EventGenerator(SimulatedMsadcCrate.PhysicsOptionsFor(readout), readout.Beam.Seed, log);
            await using var server = new MsadcUdpCrateServer(generator, modules, targets, IPAddress.Parse(parse.GetValue(bind)!), first,
                readout.Beam.TimedInLatency, log)
            {
                Mode = mode == "random" ? SimulatedTriggerMode.RandomNoBeam : SimulatedTriggerMode.Beam,
            };
            var serving = server.Start();
            foreach (var (module, endpoint) in modules.Zip(server.ControlEndpoints))
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{module.Name} control: udp:{endpoint}"));
            foreach (var (source, target) in targets)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"source {source} data to: udp:{target}"));
            var done = new TaskCompletionSource();
            await using (ct.Register(() => done.TrySetResult()))
                await Task.WhenAny(serving, done.Task).ConfigureAwait(false);
            return 0;
        });
        return msadc;
    }

    /// <summary>Each source's data endpoint from the setup (0.0.0.0 / :: mean this host); null, or why not.</summary>
    private static string? DataTargets(ReadoutSetup readout, out Dictionary<int, IPEndPoint> targets)
    {
        targets = [];
        foreach (var source in readout.Sources)
        {
            if (!DatagramEndpoint.TryParse(source.Data, out var endpoint, out string rule))
                return $"source {source.SourceId} data = '{source.Data}': {rule}";
            if (endpoint is null)
                return $"source {source.SourceId} data = 'sim': give the host's udp:HOST:PORT in the setup, where the simulated crate sends";
            var target = endpoint.Resolve();
            if (target.Address.Equals(IPAddress.Any))
                target = new IPEndPoint(IPAddress.Loopback, target.Port);
            else if (target.Address.Equals(IPAddress.IPv6Any))
                target = new IPEndPoint(IPAddress.IPv6Loopback, target.Port);
            targets[source.SourceId] = target;
        }

        return null;
    }
}
