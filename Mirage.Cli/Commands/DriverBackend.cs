using System.CommandLine;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt;
using Xen.Gnt.Unix;
using Xen.Store;
using Xen.Xenctrl;

namespace Mirage.Cli.Commands;

/// <summary>Something a command runs over whichever event-channel and memory backend was chosen.</summary>
internal interface IDriverProgram
{
    Task<int> RunAsync<TEvents, TMemory>(TEvents events, TMemory memory, XenstoreClient store, CancellationToken cancellationToken)
        where TEvents : IEvents
        where TMemory : IMemory;
}

/// <summary>
/// The options every command that opens a driver shares: <c>--backend unix|xenctrl</c>, the domain it
/// acts as, the Unix backends' root and the Xenstore socket; and opening them.
/// </summary>
internal sealed class DriverBackend
{
    public const string XenstoreHelp =
        "The Xenstore daemon is found at --xenstore, else $XENSTORED_PATH, else $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket "
        + "(run `mirage xenstored` for the unix backend); with xenctrl in a guest without that socket, /dev/xen/xenbus.";

    public Option<string> Backend { get; } = new("--backend")
    {
        Description = "The event-channel and grant backend: unix (processes on this host act as domains, see docs/unix-backend.md) or xenctrl (a real Xen domain, see docs/xenctrl-backend.md).",
        DefaultValueFactory = _ => "unix",
    };

    public Option<ushort> Domain { get; }

    public Option<string?> Root { get; } = new("--root")
    {
        Description = "unix backend: the folder shared by the processes (default $XEN_ROOT, else /dev/shm/mirage-xen-<uid>).",
    };

    public Option<string?> Xenstore { get; } = new("--xenstore")
    {
        Description = "The Xenstore daemon's socket, or /dev/xen/xenbus (the command's description says where it is looked for).",
    };

    public DriverBackend(ushort defaultDomain)
    {
        Backend.AcceptOnlyFromAmong("unix", "xenctrl");
        Domain = new Option<ushort>("--domain")
        {
            Description = "The domain this process acts as (with xenctrl, found from Xen when not given).",
            DefaultValueFactory = _ => defaultDomain,
        };
    }

    public void AddTo(Command command)
    {
        command.Add(Backend);
        command.Add(Domain);
        command.Add(Root);
        command.Add(Xenstore);
    }

    /// <summary>Opens the backends and Xenstore (acting as the domain with the unix backend) and runs <paramref name="program"/>.</summary>
    public async Task<int> RunAsync(ParseResult parse, IDriverProgram program, CancellationToken cancellationToken)
    {
        var domain = parse.GetValue(Domain);
        var xenctrl = parse.GetValue(Backend) == "xenctrl";
        XenstoreClient store;
        try
        {
            store = await XenstoreConnection.OpenAsync(parse.GetValue(Xenstore), xenctrl ? XsWire.XenbusDevicePath : null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is XenstoreException or System.Net.Sockets.SocketException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"Cannot reach the Xenstore daemon: {e.Message} {XenstoreHelp}");
            return 2;
        }
        await using (store.ConfigureAwait(false))
        {
            if (xenctrl)
            {
                var options = new XenctrlOptions { LocalDomain = parse.GetResult(Domain) is { Implicit: false } ? domain : null };
                using var events = XenctrlBackends.OpenEvents(options);
                using var memory = XenctrlBackends.OpenMemory(options);
                return await program.RunAsync(events, memory, store, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // A socket connection is dom0 until it claims its domain.
                if (domain != 0)
                    await store.ActAsDomainAsync(domain, cancellationToken).ConfigureAwait(false);
                var root = parse.GetValue(Root);
                using var events = new UnixEvents(new UnixEventsOptions { Domain = domain, Root = root });
                using var memory = new UnixMemory(new UnixMemoryOptions { Domain = domain, Root = root }, port => events.Send(new Channel(new Port(port))));
                return await program.RunAsync(events, memory, store, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
