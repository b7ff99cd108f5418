using System.CommandLine;
using System.Globalization;
using System.Net.NetworkInformation;
using System.Runtime.InteropServices;
using Netif;
using Netif.Links;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Mirage.Cli.Commands;

/// <summary>
/// <c>mirage netback</c>: creates a vif device in Xenstore (as the toolstack would) and serves its
/// frontend, passing frames to a TAP interface or back to the frontend (loopback), reconnecting
/// whenever a frontend comes.
/// </summary>
internal static class NetbackCommand
{
    public static Command Create()
    {
        var backend = new DomainOptions(unixDefault: 0);
        var tap = new Option<string?>("--tap") { Description = "A Linux TAP interface to pass frames to (created if missing; needs root or CAP_NET_ADMIN)." };
        var loopback = new Option<bool>("--loopback") { Description = "Send every frame back to the frontend: no root needed." };
        var frontend = new Option<ushort>("--frontend-domain") { Description = "The frontend's domain.", DefaultValueFactory = _ => 1 };
        var device = new Option<uint>("--device") { Description = "The vif number.", DefaultValueFactory = _ => 0 };
        var mtu = new Option<int>("--mtu") { Description = "The MTU offered.", DefaultValueFactory = _ => 1500 };
        var queues = new Option<int>("--queues") { Description = "The most queues offered.", DefaultValueFactory = _ => 4 };
        var mac = new Option<string?>("--mac") { Description = "The frontend's MAC, written to its mac key (default: random, 00:16:3e:xx:xx:xx)." };
        var keep = new Option<bool>("--keep-mappings")
        {
            Description = "Keep the frontend's pages mapped across frames: faster, but only for a frontend that keeps its grants, as mirage netfront does (Linux's netfront stops using a device that holds them).",
        };
        var command = new Command("netback", "Serve a Xen network frontend, passing its frames to a TAP interface (--tap) or back to it (--loopback). " + DomainOptions.XenstoreHelp)
        {
            tap, loopback, frontend, device, mtu, queues, mac, keep,
        };
        backend.AddTo(command);
        command.Validators.Add(r =>
        {
            if ((r.GetValue(tap) is null) == !r.GetValue(loopback))
                r.AddError("Give exactly one of --tap <ifname> and --loopback.");
            if (r.GetValue(mac) is { } m && !NetifXenstore.TryParseMac(m, out _))
                r.AddError($"--mac {m} is not a MAC address (aa:bb:cc:dd:ee:ff).");
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            var features = new NetbackFeatures { Mtu = parse.GetValue(mtu), MaxQueues = parse.GetValue(queues) };
            try
            {
                features.Validate();
            }
            catch (ArgumentOutOfRangeException e)
            {
                Console.Error.WriteLine($"netback: {e.Message}");
                return 2;
            }
            using var stop = StopSignals.Link(cancellationToken);
            var program = new Program(parse.GetValue(tap), parse.GetValue(device), parse.GetValue(frontend), features,
                parse.GetValue(mac) ?? NetifXenstore.FormatMac(RandomMac()), parse.GetValue(keep));
            try
            {
                return await backend.RunAsync(parse, program, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return 0;
            }
            catch (Exception e) when (DomainOptions.Explains(e))
            {
                Console.Error.WriteLine($"netback: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static PhysicalAddress RandomMac()
    {
        var bytes = new byte[] { 0x00, 0x16, 0x3e, 0, 0, 0 };
        Random.Shared.NextBytes(bytes.AsSpan(3));
        return new PhysicalAddress(bytes);
    }

    private sealed class Program(string? tap, uint deviceId, ushort frontendDomain, NetbackFeatures features, string mac, bool keepMappings) : IDomainProgram
    {
        public async Task<int> RunAsync<TEvents, TMemory>(DomainSession<TEvents, TMemory> domain, CancellationToken cancellationToken)
            where TEvents : IEvents
            where TMemory : IMemory
        {
            var (events, memory, store) = (domain.Events, domain.Memory, domain.Store);
            var device = new XenbusDevice(NetifXenstore.DeviceType, deviceId, frontendDomain, memory.LocalDomain);
            // Dom0 is also the toolstack: it creates the device the frontend will find. A device that exists
            // is left as it is: a netback that died left it, and its frontend may still serve its rings.
            if (memory.LocalDomain == 0 && await store.TryReadAsync(device.BackendPath + "/frontend", cancellationToken).ConfigureAwait(false) is null)
            {
                await Xenbus.CreateDeviceAsync(store, device, cancellationToken).ConfigureAwait(false);
                await store.WriteAsync(device.FrontendPath + "/mac", mac, cancellationToken).ConfigureAwait(false);
            }
            using var tapLink = tap is null ? null : TapLink.Open(tap);
            using var loop = tap is null ? NetworkLink.CreateLoopback() : null;
            INetworkLink link = tapLink is not null ? tapLink : loop!;
            var netback = new NetbackDevice<TEvents, TMemory>(store, device, events, memory, link, new NetbackOptions { Features = features, Name = $"vif{frontendDomain}.{deviceId}", KeepMappings = keepMappings });
            netback.ConnectionFailed += (_, e) => Console.Error.WriteLine($"netback: connection failed: {e.Message}");
            Console.Error.WriteLine($"netback: serving {device.BackendPath} for {device.FrontendPath} (mac {mac}) on {(tap is null ? "a loopback" : "tap " + tap)}, mtu {features.Mtu}");
            NetifStatistics? last = null;
            netback.Connected += (_, _) => Console.Error.WriteLine($"netback: frontend connected ({netback.Connections})");
            netback.Disconnected += (_, ended) =>
            {
                last = ended.Statistics;
                Console.Error.WriteLine("netback: the connection ended; releasing the frontend's pages");
            };
            try
            {
                await netback.RunAsync(cancellationToken).ConfigureAwait(false);
                Console.Error.WriteLine($"netback: domain {frontendDomain}'s device is gone; its pages are released");
            }
            finally
            {
                if (last is not null)
                    Console.Error.WriteLine($"netback: last connection: tx {last.TxFrames:N0} frames, rx {last.RxFrames:N0} frames, {last.TotalDrops:N0} dropped");
            }
            return 0;
        }
    }
}
