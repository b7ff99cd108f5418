using System.CommandLine;
using System.Runtime.InteropServices;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;
using Xen.Store;

namespace Mirage.Cli.Commands;

/// <summary><c>mirage xenstored</c>: a Xenstore daemon on a Unix domain socket.</summary>
public static class XenstoredCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var socket = new Option<string>("--socket")
        {
            Description = "Where to listen (default: $XENSTORED_PATH, else $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket).",
            DefaultValueFactory = _ => XsWire.DefaultSocketPath,
        };
        var quiet = new Option<bool>("--quiet") { Description = "Log nothing but errors." };
        var domainPages = new Option<bool>("--domain-pages")
        {
            Description = "Also serve guests on shared Xenstore pages over the Unix backends, as domain 0: dom0's INTRODUCE domid|grant-ref|port| connects them (see docs/xenstore.md).",
        };
        var xenRoot = new Option<string?>("--xen-root")
        {
            Description = "The Unix backends' root folder for --domain-pages (default: $XEN_ROOT, else /dev/shm/mirage-xen-<uid>).",
        };
        var command = new Command("xenstored", "Run a Xenstore daemon on a Unix domain socket. Socket connections act as dom0; see docs/xenstore.md for acting as another domain.")
        {
            socket,
            quiet,
            domainPages,
            xenRoot,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(socket)!;
            var silent = parse.GetValue(quiet);
            var options = new XenstoreServerOptions { Log = silent ? null : message => Console.Error.WriteLine("xenstored: " + message) };
            // SIGTERM stops the daemon as Ctrl-C does, so that the socket is removed.
            using var stop = StopSignals.Link(cancellationToken);
            using var server = new XenstoreServer(options);
            IDisposable? backends = null;
            if (parse.GetValue(domainPages))
            {
                try
                {
                    backends = AcceptDomainPages(server, parse.GetValue(xenRoot));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
                {
                    Console.Error.WriteLine($"xenstored: cannot act as domain 0 of the Unix backends: {e.Message}");
                    return 1;
                }
            }
            using var ownedBackends = backends;
            try
            {
                await server.ListenAsync(path, () => Console.Error.WriteLine($"xenstored: ready on {path}"), stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"xenstored: cannot listen on {path}: {e.Message}");
                return 1;
            }
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Makes the daemon domain 0 of the Unix backends under <paramref name="root"/>, as xenstored runs in
    /// dom0 under Xen, so that dom0's <c>INTRODUCE</c> connects guests on their shared pages.
    /// </summary>
    private static IDisposable AcceptDomainPages(XenstoreServer server, string? root)
    {
        var events = UnixEvents.Create(0, root);
        try
        {
            var memory = UnixMemory.Create(0, root, port => events.Send(new Channel(new Port(port))));
            server.AcceptDomainPages(events, memory);
            return new Backends(events, memory);
        }
        catch
        {
            events.Dispose();
            throw;
        }
    }

    private sealed class Backends(UnixEvents events, UnixMemory memory) : IDisposable
    {
        public void Dispose()
        {
            memory.Dispose();
            events.Dispose();
        }
    }
}
