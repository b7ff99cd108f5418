using System.CommandLine;
using System.Net.Sockets;
using Vchan;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Mirage.Cli.Commands;

/// <summary>
/// <c>mirage vchan-cat</c>, like Xen's vchan cat tools: standard input goes to the peer over a vchan and
/// what the peer sends goes to standard output. One end listens (<c>--listen &lt;peer-domid&gt;</c>),
/// the other connects (<c>&lt;server-domid&gt;</c>); they meet through Xenstore. Exits 0 once standard
/// input has all gone into the vchan and one side closed; 1 if the peer closed before it all went.
/// </summary>
internal static class VchanCatCommand
{
    public static Command Create()
    {
        var listen = new Option<bool>("--listen", "-l") { Description = "Be the server: publish the vchan for the peer domain, wait for it." };
        var domid = new Argument<ushort>("domid") { Description = "With --listen, the peer (client) domain; without, the server's domain." };
        var port = new Argument<string>("port") { Description = "The vchan's name (letters, digits, '-', '_')." };
        var domainOptions = new DomainOptions(unixDefault: null);
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
            + "the peer's close ends this side. Exit 0 on a clean end, 1 on an error. vchan-cat does not start a Xenstore daemon. " + DomainOptions.XenstoreHelp)
        {
            listen, domid, port, readRing, writeRing, timeout,
        };
        domainOptions.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cat = new Cat(parse.GetValue(listen), parse.GetValue(domid), parse.GetValue(port)!,
                parse.GetValue(readRing), parse.GetValue(writeRing), TimeSpan.FromSeconds(parse.GetValue(timeout)));
            try
            {
                return await domainOptions.RunAsync(parse, cat, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return 130;
            }
            catch (Exception e) when (DomainOptions.Explains(e) || e is SocketException or VchanProtocolException or ArgumentException)
            {
                Console.Error.WriteLine("vchan-cat: " + e.Message);
                return 1;
            }
        });
        return command;
    }

    /// <summary>
    /// The cat itself, in the domain <see cref="DomainOptions"/> opened. Processes that play domains do
    /// their toolstack's part for themselves first: the domain's home and its <c>data</c> directory,
    /// where a vchan server publishes.
    /// </summary>
    private sealed record Cat(bool Listen, ushort Peer, string Port, int ReadRing, int WriteRing, TimeSpan Timeout) : IDomainProgram, IToolstackStep
    {
        public bool RunsWith(bool unix) => unix;

        public Task RunAsync(XenstoreClient dom0, ushort domain, CancellationToken cancellationToken) =>
            PrepareDomainAsync(dom0, domain, cancellationToken);

        public Task<int> RunAsync<TEvents, TMemory>(DomainSession<TEvents, TMemory> domain, CancellationToken cancellationToken)
            where TEvents : IEvents
            where TMemory : IMemory =>
            CatAsync(domain.Events, domain.Memory, domain.Store, this, cancellationToken);
    }

    /// <summary>The toolstack's part for a vchan end that plays <paramref name="domain"/>, done on a dom0 connection.</summary>
    internal static Task PrepareDomainAsync(XenstoreClient dom0, ushort domain, CancellationToken cancellationToken) =>
        domain == 0 ? Task.CompletedTask : VchanXenstore.PrepareDomainAsync(dom0, domain, cancellationToken);

    /// <summary><see cref="PrepareDomainAsync(XenstoreClient, ushort, CancellationToken)"/> on a dom0 connection of its own to <paramref name="xenstore"/>.</summary>
    internal static async Task PrepareDomainAsync(string? xenstore, ushort domain, CancellationToken cancellationToken)
    {
        await using var dom0 = await XenstoreClient.OpenAsync(xenstore, actAs: null, cancellationToken).ConfigureAwait(false);
        await PrepareDomainAsync(dom0, domain, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> CatAsync<TEvents, TMemory>(TEvents events, TMemory memory, XenstoreClient store, Cat s, CancellationToken cancellationToken)
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
