using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Xen.Store;
using Xen.Store.Server;
using Xen.Unix;

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
        var xenRoot = new Option<string?>("--root")
        {
            Description = "The Unix backends' root folder for --domain-pages (default: $XEN_ROOT, else /dev/shm/mirage-xen-<uid>).",
        };
        var domainSockets = new Option<string[]>("--domain-socket")
        {
            Description = "Also listen on <path>=<domid>, where every connection acts as that domain from the start: for programs on Xen's libxenstore, which cannot restrict their own connections. Repeatable.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var backend = new Option<string>("--backend")
        {
            Description = "unix (default): a daemon for processes on this host; with --domain-pages, guests on the Unix backends' shared pages. "
                + "xenctrl: the Xenstore of the real Xen host this runs in, as dom0, in place of Xen's xenstored: dom0's own ring, guests that INTRODUCE names on their grant 1, VIRQ_DOM_EXC (see docs/xenstore.md).",
            DefaultValueFactory = _ => "unix",
        }.AcceptOnlyFromAmong("unix", "xenctrl");
        var command = new Command("xenstored", "Run a Xenstore daemon on a Unix domain socket. Socket connections act as dom0; see docs/xenstore.md for acting as another domain.")
        {
            backend,
            socket,
            quiet,
            domainPages,
            xenRoot,
            domainSockets,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(socket)!;
            var silent = parse.GetValue(quiet);
            var guests = new List<(string Path, ushort Domain)>();
            foreach (var value in parse.GetValue(domainSockets) ?? [])
            {
                var at = value.LastIndexOf('=');
                if (at <= 0 || !ushort.TryParse(value.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var domid))
                {
                    Console.Error.WriteLine($"xenstored: --domain-socket takes <path>=<domid>, not '{value}'");
                    return 2;
                }
                guests.Add((value[..at], domid));
            }
            // On stderr, with the lines below: stdout stays free. --quiet keeps only errors.
            using var logging = LoggerFactory.Create(builder => builder
                .AddSimpleConsole(console => console.SingleLine = true)
                .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace)
                .SetMinimumLevel(silent ? LogLevel.Error : LogLevel.Information));
            var options = new XenstoreServerOptions { Logger = logging.CreateLogger("xenstored") };
            // SIGTERM stops the daemon as Ctrl-C does, so that the socket is removed.
            using var stop = StopSignals.Link(cancellationToken);
            using var server = new XenstoreServer(options);
            IDisposable? backends = null;
            XenstoredHost? host = null;
            if (parse.GetValue(backend) == "xenctrl")
            {
                if (parse.GetValue(domainPages))
                {
                    Console.Error.WriteLine("xenstored: --domain-pages is for the unix backend; with xenctrl, guests' pages are served anyway");
                    return 2;
                }
                try
                {
                    backends = host = XenstoredHost.Open(server);
                }
                catch (IOException e)
                {
                    Console.Error.WriteLine($"xenstored: cannot act as the Xen host's Xenstore: {e.Message}");
                    return 1;
                }
            }
            else if (parse.GetValue(domainPages))
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
            // Every socket listens until one fails or the daemon stops. The domains' sockets come first, so
            // that "ready on" (what scripts wait for) means every socket is.
            using var listening = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            var sockets = new List<Task>();
            try
            {
                foreach (var (guestPath, domid) in guests)
                {
                    var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    var serving = ListenAsync(guestPath, server.ListenAsync(guestPath, domid, ready.SetResult, listening.Token));
                    sockets.Add(serving);
                    await Task.WhenAny(ready.Task, serving).ConfigureAwait(false);
                    if (serving.IsCompleted)
                        await serving.ConfigureAwait(false);
                    Console.Error.WriteLine($"xenstored: listening on {guestPath}, whose connections act as domain {domid}");
                }
                if (host is not null)
                {
                    // dom0's ring and VIRQ_DOM_EXC first: the socket appearing is what dom0's start-up waits for.
                    var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    var hosting = host.RunAsync(started.SetResult, listening.Token);
                    sockets.Add(hosting);
                    await Task.WhenAny(started.Task, hosting).ConfigureAwait(false);
                    if (hosting.IsCompleted)
                        await hosting.ConfigureAwait(false);
                }
                sockets.Add(ListenAsync(path, server.ListenAsync(path, () => Console.Error.WriteLine($"xenstored: ready on {path}"), listening.Token)));
                var first = await Task.WhenAny(sockets).ConfigureAwait(false);
                await first.ConfigureAwait(false);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"xenstored: {e.Message}");
                return 1;
            }
            finally
            {
                await listening.CancelAsync().ConfigureAwait(false);
                await Task.WhenAll(sockets.Select(s => s.ContinueWith(_ => { }, TaskScheduler.Default))).ConfigureAwait(false);
            }
            return 0;
        });
        return command;
    }

    // One socket's listening, its failure named by its path; stopping is not a failure.
    private static async Task ListenAsync(string path, Task listening)
    {
        try
        {
            await listening.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot listen on {path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Makes the daemon domain 0 of the Unix backends under <paramref name="root"/>, as xenstored runs in
    /// dom0 under Xen, so that dom0's <c>INTRODUCE</c> connects guests on their shared pages.
    /// </summary>
    private static UnixDomain AcceptDomainPages(XenstoreServer server, string? root)
    {
        var domain = UnixDomain.Open(new UnixDomainOptions { Domain = 0, Root = root });
        try
        {
            server.AcceptDomainPages(domain.Events, domain.Memory);
            return domain;
        }
        catch
        {
            domain.Dispose();
            throw;
        }
    }
}
