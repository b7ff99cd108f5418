using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using Vchan;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt;
using Xen.Gnt.Unix;
using Xen.Store;
using Xen.Xenctrl;

namespace Mirage.Cli.Commands;

/// <summary>
/// <c>mirage vchan-cat</c>, like Xen's vchan cat tools: standard input goes to the peer over a vchan and
/// what the peer sends goes to standard output. One end listens (<c>--listen &lt;peer-domid&gt;</c>),
/// the other connects (<c>&lt;server-domid&gt;</c>); they meet through Xenstore. Exits 0 once standard
/// input has all gone into the vchan and one side closed; 1 if the peer closed before it all went.
/// </summary>
internal static class VchanCatCommand
{
    private const string DaemonHelp =
        "Xenstore: with --backend unix, the daemon at --xenstore, else $XENSTORED_PATH, else $XENSTORED_RUNDIR/socket, "
        + "else /var/run/xenstored/socket; vchan-cat does not start one: run `mirage xenstored --socket <path>` first. "
        + "With --backend xenctrl, the domain's real xenstored: that socket if it exists, else /dev/xen/xenbus.";

    public static Command Create()
    {
        var listen = new Option<bool>("--listen", "-l") { Description = "Be the server: publish the vchan for the peer domain, wait for it." };
        var domid = new Argument<ushort>("domid") { Description = "With --listen, the peer (client) domain; without, the server's domain." };
        var port = new Argument<string>("port") { Description = "The vchan's name (letters, digits, '-', '_')." };
        var domain = new Option<ushort?>("--domain") { Description = "This process's own domain id (default: $XEN_DOMID; with xenctrl, found from Xen)." };
        var root = new Option<string?>("--xen-root") { Description = "The Unix backends' shared folder (default: $XEN_ROOT, else /dev/shm/mirage-xen-<uid>)." };
        var backend = new Option<string>("--backend")
        {
            Description = "unix (processes as domains on this machine) or xenctrl (a real Xen domain).",
            DefaultValueFactory = _ => "unix",
        };
        backend.AcceptOnlyFromAmong("unix", "xenctrl");
        var xenstore = new Option<string?>("--xenstore") { Description = "The Xenstore daemon's socket, or with xenctrl the kernel's /dev/xen/xenbus (default: see above)." };
        var readRing = new Option<int>("--read-ring")
        {
            Description = "With --listen: the least bytes the ring towards this end holds (1 KiB to 1 MiB; libxenvchan rounds up).",
            DefaultValueFactory = _ => 256 * 1024,
        };
        var writeRing = new Option<int>("--write-ring")
        {
            Description = "With --listen: the least bytes the ring towards the peer holds (1 KiB to 1 MiB).",
            DefaultValueFactory = _ => 256 * 1024,
        };
        var timeout = new Option<double>("--timeout")
        {
            Description = "Without --listen: seconds to wait for the server to publish the vchan.",
            DefaultValueFactory = _ => 30,
        };
        var command = new Command("vchan-cat",
            "Join standard input and output to a vchan: `vchan-cat --listen <peer-domid> <port>` serves, `vchan-cat <server-domid> <port>` connects. "
            + "The end of standard input closes the vchan once its bytes are written (the peer reads them all, then the end); "
            + "the peer's close ends this side. Exit 0 on a clean end, 1 on an error. " + DaemonHelp)
        {
            listen, domid, port, domain, root, backend, xenstore, readRing, writeRing, timeout,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = new Settings(
                parse.GetValue(listen), parse.GetValue(domid), parse.GetValue(port)!,
                parse.GetValue(domain) ?? EnvironmentDomain(), parse.GetValue(root), parse.GetValue(xenstore),
                parse.GetValue(readRing), parse.GetValue(writeRing), TimeSpan.FromSeconds(parse.GetValue(timeout)));
            try
            {
                return parse.GetValue(backend) == "xenctrl"
                    ? await RunXenctrlAsync(settings, cancellationToken).ConfigureAwait(false)
                    : await RunUnixAsync(settings, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return 130;
            }
            catch (Exception e) when (e is UsageException or IOException or SocketException or TimeoutException or XenstoreException
                or VchanProtocolException or InvalidOperationException or ArgumentException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine("vchan-cat: " + e.Message);
                return 1;
            }
        });
        return command;
    }

    private sealed record Settings(bool Listen, ushort Peer, string Port, ushort? Domain, string? Root, string? Xenstore,
        int ReadRing, int WriteRing, TimeSpan Timeout);

    private sealed class UsageException(string message) : Exception(message);

    private static ushort? EnvironmentDomain()
    {
        var text = Environment.GetEnvironmentVariable("XEN_DOMID");
        if (string.IsNullOrEmpty(text))
            return null;
        return ushort.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw new UsageException($"XEN_DOMID is '{text}', not a domain id (0 to 65535).");
    }

    private static async Task<int> RunUnixAsync(Settings s, CancellationToken cancellationToken)
    {
        var domain = s.Domain ?? throw new UsageException("Say which domain this process is: --domain <id> or XEN_DOMID.");
        var socket = s.Xenstore ?? XsWire.DefaultSocketPath;
        using var events = UnixEvents.Create(domain, s.Root);
        using var memory = UnixMemory.Create(domain, s.Root, p => events.Send(new Channel(new Port(p))));
        XenstoreClient store;
        try
        {
            // The daemon's socket connections act as dom0: do the toolstack's part for this domain, then act as it.
            store = await VchanXenstore.ConnectAsDomainAsync(socket, domain, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new IOException($"Cannot reach a Xenstore daemon at {socket} ({e.Message}); start one with `mirage xenstored --socket {socket}`.", e);
        }
        await using (store.ConfigureAwait(false))
            return await CatAsync(events, memory, store, s, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> RunXenctrlAsync(Settings s, CancellationToken cancellationToken)
    {
        var options = new XenctrlOptions { LocalDomain = s.Domain };
        using var events = XenctrlBackends.OpenEvents(options);
        using var memory = XenctrlBackends.OpenMemory(options);
        // Xen's own daemon: its socket in dom0, else the kernel's xenbus device, where the connection acts as this domain.
        var store = await XenstoreConnection.OpenAsync(s.Xenstore, options.XenbusPath, cancellationToken).ConfigureAwait(false);
        await using (store.ConfigureAwait(false))
            return await CatAsync(events, memory, store, s, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> CatAsync<TEvents, TMemory>(TEvents events, TMemory memory, XenstoreClient store, Settings s, CancellationToken cancellationToken)
        where TEvents : IEvents where TMemory : IMemory
    {
        var endpoint = s.Listen
            ? await VchanXenstore.ListenAsync(events, memory, store, s.Peer, s.Port, s.ReadRing, s.WriteRing, cancellationToken).ConfigureAwait(false)
            : await VchanXenstore.ConnectAsync(events, memory, store, s.Peer, s.Port, s.Timeout, cancellationToken).ConfigureAwait(false);
        await using (endpoint.ConfigureAwait(false))
        {
            if (s.Listen)
            {
                Console.Error.WriteLine($"vchan-cat: listening on {VchanXenstore.PathOf(events.LocalDomain, s.Peer, s.Port)}");
                await endpoint.WaitForConnectionAsync(cancellationToken).ConfigureAwait(false);
            }
            using var stdin = Console.OpenStandardInput();
            using var stdout = Console.OpenStandardOutput();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var input = new InputPump(stdin, endpoint);
            var up = Task.Run(() => input.RunAsync(stop.Token), stop.Token);
            var down = Task.Run(() => ReceiveAsync(endpoint, stdout, stop.Token), stop.Token);
            var first = await Task.WhenAny(up, down).ConfigureAwait(false);
            if (first == down)
            {
                // The peer closed (or failed): what it sent is out. A sender in the middle of a write
                // fails at once on the closed vchan; give it a moment to say so before stopping it.
                await Task.WhenAny(up, Task.Delay(1000, CancellationToken.None)).ConfigureAwait(false);
                await stop.CancelAsync().ConfigureAwait(false);
                await down.ConfigureAwait(false);
                return Finish(input);
            }
            // Standard input ended or the peer closed under it. Closing lets the peer read what is in the ring, then the end.
            await up.ConfigureAwait(false);
            await stop.CancelAsync().ConfigureAwait(false);
            await endpoint.DisposeAsync().ConfigureAwait(false);
            try
            {
                await down.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
            }
            return Finish(input);
        }
    }

    // Exit 1 when standard input the user gave was not all delivered into the vchan.
    private static int Finish(InputPump input)
    {
        if (!input.Undelivered)
            return 0;
        Console.Error.WriteLine("vchan-cat: the peer closed the vchan before all of standard input was sent.");
        return 1;
    }

    /// <summary>Copies standard input into the vchan until it ends or the peer closes.</summary>
    private sealed class InputPump(Stream stdin, VchanEndpoint endpoint)
    {
        // Set from reading a chunk of standard input until it is all in the vchan.
        private volatile bool _holding;

        /// <summary>Whether bytes read from standard input did not all go into the vchan.</summary>
        public bool Undelivered => _holding;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var n = await stdin.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                    return;
                _holding = true;
                try
                {
                    await endpoint.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                }
                catch (IOException) when (endpoint.State == VchanState.Closed)
                {
                    return;
                }
                _holding = false;
            }
        }
    }

    private static async Task ReceiveAsync(VchanEndpoint endpoint, Stream stdout, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await endpoint.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) != 0)
            await stdout.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
        await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
