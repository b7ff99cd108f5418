using Blkif;
using System.CommandLine;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt;
using Xen.Gnt.Unix;
using Xen.Store;
using Xen.Xenctrl;

namespace Mirage.Cli.Commands;

/// <summary>What <c>blkback</c> and <c>blkfront</c> share: the backend choice, Xenstore, the device.</summary>
internal static class BlkifHost
{
    public const string XenstoreHelp =
        "The Xenstore daemon is found at --xenstore, else $XENSTORED_PATH, else $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket " +
        "(run `mirage xenstored` for the unix backend; with xenctrl, the real xenstored). With --backend unix, the Unix backends' root is " +
        "--root, else $XEN_ROOT, else /dev/shm/mirage-xen-<uid>, and the socket connection claims this end's domain id (docs/xenstore.md).";

    public static Option<string> Backend() => new Option<string>("--backend")
    {
        Description = "Event channels and grants: unix (processes on this host) or xenctrl (/dev/xen in a real Xen domain).",
        DefaultValueFactory = _ => "unix",
    }.AcceptOnlyFromAmong("unix", "xenctrl");

    public static Option<string> Xenstore() => new("--xenstore")
    {
        Description = "The Xenstore daemon's socket.",
        DefaultValueFactory = _ => XsWire.DefaultSocketPath,
    };

    public static Option<string?> Root() => new("--root") { Description = "The Unix backends' root folder (--backend unix)." };

    public static Option<uint> Device() => new("--device")
    {
        Description = "The device number (51712 is xvda).",
        DefaultValueFactory = _ => 51712,
    };

    public static Option<double> Timeout() => new("--timeout")
    {
        Description = "Seconds to wait for the other end to appear and connect.",
        DefaultValueFactory = _ => 60,
    };

    /// <summary>Runs <paramref name="body"/> over the chosen backend's events and memory, as structs so the driver is specialised.</summary>
    public static async Task<int> WithBackendAsync(string backend, ushort? domain, string? root, IBackendBody body)
    {
        if (backend == "xenctrl")
        {
            var options = new XenctrlOptions { LocalDomain = domain };
            using var events = XenctrlBackends.OpenEvents(options);
            using var memory = XenctrlBackends.OpenMemory(options);
            return await body.RunAsync(events, memory, XenctrlBackends.ResolveLocalDomain(options), privileged: false).ConfigureAwait(false);
        }
        var d = domain ?? 0;
        using var unixEvents = new UnixEvents(new UnixEventsOptions { Domain = d, Root = root });
        using var unixMemory = new UnixMemory(new UnixMemoryOptions { Domain = d, Root = root });
        return await body.RunAsync(unixEvents, unixMemory, d, privileged: true).ConfigureAwait(false);
    }

    /// <summary>Connects to the Xenstore daemon; the error says where it looked.</summary>
    public static async Task<XenstoreClient> ConnectXenstoreAsync(string socket, CancellationToken cancellationToken)
    {
        try
        {
            return await XenstoreClient.ConnectAsync(socket, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new IOException($"Cannot reach the Xenstore daemon at {socket} ({e.Message}). Start `mirage xenstored`, or set --xenstore or XENSTORED_PATH.", e);
        }
    }

    /// <summary>
    /// The toolstack's step, done by dom0's connection: both domains' homes and a fresh device with the
    /// keys xl writes for a disk (a Linux blkfront needs <c>virtual-device</c> to probe it).
    /// </summary>
    public static async Task CreateDeviceAsync(XenstoreClient dom0, XenbusDevice device, bool readOnly, string? image, CancellationToken cancellationToken)
    {
        foreach (var d in new[] { device.BackendDomain, device.FrontendDomain }.Distinct())
        {
            var home = XsWire.DomainPath(d);
            if (await dom0.TryReadAsync(home, cancellationToken).ConfigureAwait(false) is null)
            {
                await dom0.MkdirAsync(home, cancellationToken).ConfigureAwait(false);
                await dom0.SetPermissionsAsync(home, XsPermissions.Create(d), cancellationToken).ConfigureAwait(false);
            }
        }
        // What an earlier run left behind would confuse the new handshake.
        foreach (var path in new[] { device.FrontendPath, device.BackendPath })
        {
            try
            {
                await dom0.RmAsync(path, cancellationToken).ConfigureAwait(false);
            }
            catch (XenstoreException e) when (e.Error == XsError.ENOENT)
            {
                // Its parent is missing too: nothing to remove.
            }
        }
        await BlkifXenbus.CreateDeviceAsync(dom0, device, readOnly, image, cancellationToken).ConfigureAwait(false);
    }

    public static CancellationTokenSource Deadline(double seconds, CancellationToken cancellationToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        source.CancelAfter(TimeSpan.FromSeconds(seconds));
        return source;
    }

    /// <summary>A body generic over the backend.</summary>
    public interface IBackendBody
    {
        /// <summary>Runs with this domain's events and memory; <paramref name="privileged"/>: the Xenstore socket starts as dom0.</summary>
        Task<int> RunAsync<TEvents, TMemory>(TEvents events, TMemory memory, ushort domain, bool privileged)
            where TEvents : IEvents
            where TMemory : IMemory;
    }
}
