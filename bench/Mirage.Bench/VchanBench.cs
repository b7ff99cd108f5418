using System.Buffers.Binary;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime;
using Vchan;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;
using Xen.Store;
using Xen.Unix;
using Xen.Store.Server;

namespace Mirage.Bench;

/// <summary>
/// Vchan between two processes over the Unix backends against a Unix domain stream socket between
/// the same two processes, in the same run: throughput with 1 MiB rings and 64 KiB writes, one-byte
/// round trips, and the in-page 1 KiB and 2 KiB rings. This process is the vchan server (domain 1)
/// and runs an in-process Xenstore daemon; a copy of itself is the client (domain 2).
/// </summary>
public static class VchanBench
{
    private const ushort ServerDomain = 1, ClientDomain = 2;

    // The vchan throughput warm-up's end: a transfer this long with no method compiled in either process
    // (longer than the runtime's 100 ms call-counting delay, after which hot methods are queued for tier-up),
    // or this much warm-up in all.
    private static readonly TimeSpan QuietTransfer = TimeSpan.FromMilliseconds(250), MaxWarmup = TimeSpan.FromSeconds(10);

    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var gib = new Option<double>("--gib") { Description = "GiB to send per throughput measurement of the socket baseline.", DefaultValueFactory = _ => 1.0 };
        var seconds = new Option<double>("--seconds") { Description = "Seconds per vchan measurement, after half a second of warm-up.", DefaultValueFactory = _ => 1.0 };
        var trips = new Option<int>("--round-trips") { Description = "One-byte round trips per measurement of the socket baseline (vchan's are timed: half a second of warm-up, a second measured).", DefaultValueFactory = _ => 100_000 };
        var peer = new Option<string[]>("--peer") { Description = "Internal: run as the second process.", Hidden = true, AllowMultipleArgumentsPerToken = true };
        var command = new Command("vchan", "Vchan over the Unix backends against a Unix domain socket between the same two processes.") { gib, seconds, trips, peer };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(peer) is { Length: > 0 } peerArgs)
                return await PeerAsync(peerArgs).ConfigureAwait(false);
            await RunAsync((long)(parse.GetValue(gib) * (1L << 30)), TimeSpan.FromSeconds(parse.GetValue(seconds)), parse.GetValue(trips), cancellationToken).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    private static Task RunAsync(long bytes, TimeSpan duration, int trips, CancellationToken cancellationToken) =>
        WithRunnerAsync(TimeSpan.Zero, async bench =>
        {
            Console.WriteLine($"vchan vs Unix domain stream socket, two processes, {Environment.ProcessorCount} CPUs");
            // Warm up the socket path (JIT, page faults) before measuring; vchan's measurements warm up themselves.
            var warmup = TimeSpan.FromSeconds(0.5);
            await bench.SocketThroughputAsync(64 << 20).ConfigureAwait(false);

            var vchan = (await bench.VchanThroughputAsync(1 << 20, 1 << 20, warmup, duration).ConfigureAwait(false)).Value;
            var socket = await bench.SocketThroughputAsync(bytes).ConfigureAwait(false);
            Console.WriteLine($"throughput, 1 MiB rings, 64 KiB writes: vchan {vchan:F0} MB/s, socket {socket:F0} MB/s, ratio {vchan / socket:F2} (goal >= 1.5)");

            var inPage2 = (await bench.VchanThroughputAsync(0, 0, warmup, duration).ConfigureAwait(false)).Value;          // server writes the 2 KiB ring
            var inPage1 = (await bench.VchanThroughputAsync(2048, 1024, warmup, duration).ConfigureAwait(false)).Value;    // server writes the 1 KiB ring
            Console.WriteLine($"throughput, in-page rings, 64 KiB writes: 2 KiB ring {inPage2:F0} MB/s ({inPage2 / socket:F2}x socket), 1 KiB ring {inPage1:F0} MB/s ({inPage1 / socket:F2}x socket)");

            await bench.SocketRoundTripAsync(trips / 10).ConfigureAwait(false);
            var vchanTrip = (await bench.VchanRoundTripAsync(warmup, duration).ConfigureAwait(false)).Value;
            var socketTrip = await bench.SocketRoundTripAsync(trips).ConfigureAwait(false);
            Console.WriteLine($"one-byte round trip: vchan {vchanTrip:F2} us, socket {socketTrip:F2} us, ratio {vchanTrip / socketTrip:F3} (goal <= 0.2)");
        }, cancellationToken);

    /// <summary>
    /// Runs <paramref name="body"/> with this process as domain 1 (its event channels spinning for
    /// <paramref name="spin"/> before they block, and the peers' too) and a Xenstore daemon of its own.
    /// </summary>
    internal static async Task WithRunnerAsync(TimeSpan spin, Func<Runner, Task> body, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("The Unix backends need Linux.");
        var root = Path.Combine("/dev/shm", "mirage-vchan-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var storeSocket = root + ".xenstored";
        using var daemon = new XenstoreServer();
        using var stopDaemon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ready = new TaskCompletionSource();
        var serving = daemon.ListenAsync(storeSocket, ready.SetResult, stopDaemon.Token);
        await ready.Task.ConfigureAwait(false);
        try
        {
            using var domain = UnixDomain.Open(new UnixDomainOptions { Domain = ServerDomain, Root = root, Xenstore = storeSocket, SpinBeforeBlock = spin });
            await PrepareDomainAsync(storeSocket, ServerDomain, cancellationToken).ConfigureAwait(false);
            await using var store = await domain.OpenXenstoreAsync(cancellationToken).ConfigureAwait(false);
            await body(new Runner(root, storeSocket, domain.Events, domain.Memory, store, spin)).ConfigureAwait(false);
        }
        finally
        {
            await stopDaemon.CancelAsync().ConfigureAwait(false);
            try
            {
                await serving.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            Directory.Delete(root, recursive: true);
            File.Delete(storeSocket);
        }
    }

    /// <summary>The measurements, each against a fresh peer process (domain 2).</summary>
    internal sealed class Runner(string root, string storeSocket, UnixEvents events, UnixMemory memory, XenstoreClient store, TimeSpan spin)
    {
        private int _next;

        private string NextPort() => "bench" + Interlocked.Increment(ref _next).ToString(CultureInfo.InvariantCulture);

        /// <summary>
        /// MB/s (1e6 bytes) from this process to the peer in 64 KiB writes, over about
        /// <paramref name="duration"/>; items are the writes.
        /// </summary>
        /// <remarks>
        /// One peer process and one vchan for the warm-up and the measurement: a peer started for the
        /// measurement alone ran its first, unoptimised code through it. The bytes go in transfers, each
        /// an 8-byte length and then the bytes, which the peer acknowledges once it has read them all
        /// with the number of methods its JIT has compiled. Warm-up transfers double from 1 MiB (the
        /// rings' speeds differ a thousandfold) until <paramref name="warmup"/> has passed and one
        /// transfer of at least <see cref="QuietTransfer"/> ran with neither process compiling a method
        /// (unless the warm-up is shorter than that), or <see cref="MaxWarmup"/> has passed; the last
        /// one's rate sizes the measured one. Without the quiet transfer the runtime's background tier-up
        /// of the fresh peer's start-up code (and of this process's) ran in the measurement: perf put the
        /// JIT threads at 7-12 % of each process's samples in the measured second of <c>vchan-bulk</c>,
        /// on a machine whose two cores both ends spin on.
        /// </remarks>
        public async Task<Measurement> VchanThroughputAsync(int leftMin, int rightMin, TimeSpan warmup, TimeSpan duration)
        {
            var port = NextPort();
            await using var endpoint = await VchanXenstore.ListenAsync(events, memory, store, ClientDomain, port, leftMin, rightMin).ConfigureAwait(false);
            using var peer = StartPeer("vchan-sink", port, "0");
            await UntilConnectedAsync(endpoint.WaitForConnectionAsync().AsTask(), peer).ConfigureAwait(false);
            var buffer = new byte[65536];
            Random.Shared.NextBytes(buffer);
            var header = new byte[8];
            var ack = new byte[8];
            long bytes = 1 << 20;
            var warming = Stopwatch.StartNew();
            long compiledHere = JitInfo.GetCompiledMethodCount(), compiledPeer = -1;
            double rate;
            while (true)
            {
                var clock = Stopwatch.StartNew();
                var peerCount = await TransferAsync(bytes).ConfigureAwait(false);
                var took = clock.Elapsed;
                rate = bytes / took.TotalSeconds;
                var hereCount = JitInfo.GetCompiledMethodCount();
                // A warm-up shorter than a quiet transfer (--quick) checks the rows, not the speed: it does not wait.
                var quiet = warmup < QuietTransfer || (took >= QuietTransfer && peerCount == compiledPeer && hereCount == compiledHere);
                (compiledPeer, compiledHere) = (peerCount, hereCount);
                if ((warming.Elapsed >= warmup && quiet) || warming.Elapsed >= MaxWarmup)
                    break;
                var next = TimeSpan.FromTicks(Math.Max((warmup - warming.Elapsed).Ticks, QuietTransfer.Ticks));
                bytes = Math.Min(bytes * 2, (long)Math.Max(1 << 20, rate * next.TotalSeconds));
            }
            bytes = (long)Math.Clamp(rate * duration.TotalSeconds, 1 << 20, 64e9);
            var start = Sample.Take(peer.Id);
            await TransferAsync(bytes).ConfigureAwait(false);
            var end = Sample.Take(peer.Id);
            // A zero length ends the peer's loop; it then waits for the close.
            await TransferAsync(0).ConfigureAwait(false);
            await endpoint.DisposeAsync().ConfigureAwait(false);
            await peer.WaitForExitAsync().ConfigureAwait(false);
            return start.Until(end, bytes / start.Elapsed(end).TotalSeconds / 1e6, Math.Ceiling(bytes / (double)buffer.Length));

            // Returns the peer's count of compiled methods from its acknowledgement (0 for a zero count).
            async Task<long> TransferAsync(long count)
            {
                BinaryPrimitives.WriteInt64LittleEndian(header, count);
                await endpoint.WriteAsync(header).ConfigureAwait(false);
                for (long sent = 0; sent < count; sent += buffer.Length)
                    await endpoint.WriteAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count - sent))).ConfigureAwait(false);
                if (count == 0)
                    return 0;
                for (var got = 0; got < ack.Length;)
                {
                    var n = await endpoint.ReadAsync(ack.AsMemory(got)).ConfigureAwait(false);
                    if (n == 0)
                        throw new IOException("The peer did not acknowledge.");
                    got += n;
                }
                return BinaryPrimitives.ReadInt64LittleEndian(ack);
            }
        }

        /// <summary>
        /// Microseconds per one-byte round trip to an echoing peer, measured for <paramref name="duration"/>
        /// after <paramref name="warmup"/> (timed, not counted: see <see cref="EvtchnBench.EventsRoundTripAsync"/>).
        /// </summary>
        public async Task<Measurement> VchanRoundTripAsync(TimeSpan warmup, TimeSpan duration)
        {
            const int Batch = 256;
            var port = NextPort();
            await using var endpoint = await VchanXenstore.ListenAsync(events, memory, store, ClientDomain, port).ConfigureAwait(false);
            using var peer = StartPeer("vchan-echo", port, "0");
            await UntilConnectedAsync(endpoint.WaitForConnectionAsync().AsTask(), peer).ConfigureAwait(false);
            var one = new byte[1];
            var until = Stopwatch.GetTimestamp() + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
            do
                await TripsAsync().ConfigureAwait(false);
            while (Stopwatch.GetTimestamp() < until);
            var start = Sample.Take(peer.Id);
            until = start.Timestamp + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            long trips = 0;
            do
            {
                await TripsAsync().ConfigureAwait(false);
                trips += Batch;
            }
            while (Stopwatch.GetTimestamp() < until);
            var end = Sample.Take(peer.Id);
            await endpoint.DisposeAsync().ConfigureAwait(false);
            await peer.WaitForExitAsync().ConfigureAwait(false);
            return start.Until(end, start.Elapsed(end).TotalMicroseconds / trips, trips);

            async Task TripsAsync()
            {
                for (var i = 0; i < Batch; i++)
                {
                    await endpoint.WriteAsync(one).ConfigureAwait(false);
                    if (await endpoint.ReadAsync(one).ConfigureAwait(false) != 1)
                        throw new IOException("The echo peer went away.");
                }
            }
        }

        /// <summary>
        /// Both ends connected and idle for <paramref name="idle"/>: the value is the CPU both processes
        /// used, in percent of one core; items are seconds.
        /// </summary>
        public async Task<Measurement> VchanIdleAsync(TimeSpan idle)
        {
            var port = NextPort();
            await using var endpoint = await VchanXenstore.ListenAsync(events, memory, store, ClientDomain, port).ConfigureAwait(false);
            using var peer = StartPeer("vchan-echo", port, "0");
            await UntilConnectedAsync(endpoint.WaitForConnectionAsync().AsTask(), peer).ConfigureAwait(false);
            // One round trip first, so that both ends are past their start-up and waiting to read.
            var one = new byte[1];
            await endpoint.WriteAsync(one).ConfigureAwait(false);
            if (await endpoint.ReadAsync(one).ConfigureAwait(false) != 1)
                throw new IOException("The echo peer went away.");
            await Task.Delay(TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
            var start = Sample.Take(peer.Id);
            await Task.Delay(idle).ConfigureAwait(false);
            var end = Sample.Take(peer.Id);
            await endpoint.DisposeAsync().ConfigureAwait(false);
            await peer.WaitForExitAsync().ConfigureAwait(false);
            var seconds = start.Elapsed(end).TotalSeconds;
            var cpu = (end.Cpu - start.Cpu + (end.PeerCpu - start.PeerCpu ?? TimeSpan.Zero)).TotalSeconds;
            return start.Until(end, cpu / seconds * 100, seconds);
        }

        public async Task<double> SocketThroughputAsync(long bytes)
        {
            var (socket, peer) = await AcceptPeerAsync("socket-sink", bytes).ConfigureAwait(false);
            using (socket)
            using (peer)
            {
                var buffer = new byte[65536];
                Random.Shared.NextBytes(buffer);
                var clock = Stopwatch.StartNew();
                for (long sent = 0; sent < bytes; sent += buffer.Length)
                    await socket.SendAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, bytes - sent))).ConfigureAwait(false);
                if (await socket.ReceiveAsync(new byte[1]).ConfigureAwait(false) != 1)
                    throw new IOException("The peer did not acknowledge.");
                var seconds = clock.Elapsed.TotalSeconds;
                socket.Dispose();
                await peer.WaitForExitAsync().ConfigureAwait(false);
                return bytes / seconds / 1e6;
            }
        }

        public async Task<double> SocketRoundTripAsync(int trips)
        {
            var (socket, peer) = await AcceptPeerAsync("socket-echo", 0).ConfigureAwait(false);
            using (peer)
            {
                var one = new byte[1];
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < trips; i++)
                {
                    await socket.SendAsync(one).ConfigureAwait(false);
                    if (await socket.ReceiveAsync(one).ConfigureAwait(false) != 1)
                        throw new IOException("The echo peer went away.");
                }
                var micros = clock.Elapsed.TotalMicroseconds / trips;
                socket.Dispose();
                await peer.WaitForExitAsync().ConfigureAwait(false);
                return micros;
            }
        }

        private async Task<(Socket Socket, Process Peer)> AcceptPeerAsync(string mode, long bytes)
        {
            var path = Path.Combine(root, NextPort() + ".sock");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(1);
            var peer = StartPeer(mode, path, bytes.ToString(CultureInfo.InvariantCulture));
            var accept = listener.AcceptAsync();
            try
            {
                await UntilConnectedAsync(accept, peer).ConfigureAwait(false);
            }
            catch
            {
                peer.Dispose();
                throw;
            }
            File.Delete(path);
            return (accept.Result, peer);
        }

        // A peer that fails to start or crashes before connecting would otherwise leave the run waiting forever.
        private static async Task UntilConnectedAsync(Task connected, Process peer)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var exited = peer.WaitForExitAsync(timeout.Token);
            if (await Task.WhenAny(connected, exited).ConfigureAwait(false) == connected)
            {
                await connected.ConfigureAwait(false);
                return;
            }
            if (peer.HasExited)
                throw new IOException($"The peer process exited with code {peer.ExitCode} before connecting.");
            peer.Kill();
            throw new TimeoutException("The peer process did not connect within 30 seconds.");
        }

        private Process StartPeer(string mode, string where, string bytes) =>
            PeerProcess.Start(["vchan", "--peer", mode, where, bytes, spin.Ticks.ToString(CultureInfo.InvariantCulture)],
                new Dictionary<string, string> { ["XEN_ROOT"] = root, ["XENSTORED_PATH"] = storeSocket });
    }

    // The second process: domain 2, one mode per run.
    private static async Task<int> PeerAsync(string[] args)
    {
        var (mode, where, bytes) = (args[0], args[1], long.Parse(args[2], CultureInfo.InvariantCulture));
        if (mode.StartsWith("socket", StringComparison.Ordinal))
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(where)).ConfigureAwait(false);
            await using var stream = new NetworkStream(socket);
            await ServeAsync(stream, mode, bytes).ConfigureAwait(false);
            return 0;
        }
        var spin = args.Length > 3 ? TimeSpan.FromTicks(long.Parse(args[3], CultureInfo.InvariantCulture)) : TimeSpan.Zero;
        using var domain = UnixDomain.Open(new UnixDomainOptions { Domain = ClientDomain, SpinBeforeBlock = spin });
        await PrepareDomainAsync(null, ClientDomain, CancellationToken.None).ConfigureAwait(false);
        await using var store = await domain.OpenXenstoreAsync().ConfigureAwait(false);
        await using var endpoint = await VchanXenstore.ConnectAsync(domain.Events, domain.Memory, store, ServerDomain, where, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        await using var vchan = endpoint.AsStream(ownsEndpoint: false);
        if (mode == "vchan-sink")
            await SinkTransfersAsync(vchan).ConfigureAwait(false);
        else
            await ServeAsync(vchan, mode, bytes).ConfigureAwait(false);
        return 0;
    }

    // The peer of VchanThroughputAsync: transfers of an 8-byte length and the bytes, each acknowledged
    // once read with the number of methods this process's JIT has compiled (8 bytes), so that the warm-up
    // can wait for the peer's tier-up to finish; a zero length ends them, and the peer then waits for the close.
    private static async Task SinkTransfersAsync(Stream stream)
    {
        var buffer = new byte[65536];
        while (true)
        {
            await stream.ReadExactlyAsync(buffer.AsMemory(0, 8)).ConfigureAwait(false);
            var count = BinaryPrimitives.ReadInt64LittleEndian(buffer);
            if (count == 0)
                break;
            for (long got = 0; got < count;)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count - got))).ConfigureAwait(false);
                if (n == 0)
                    throw new EndOfStreamException();
                got += n;
            }
            BinaryPrimitives.WriteInt64LittleEndian(buffer, JitInfo.GetCompiledMethodCount());
            await stream.WriteAsync(buffer.AsMemory(0, 8)).ConfigureAwait(false);
        }
        while (await stream.ReadAsync(buffer).ConfigureAwait(false) > 0)
        {
        }
    }

    private static async Task ServeAsync(Stream stream, string mode, long bytes)
    {
        var buffer = new byte[65536];
        if (mode.EndsWith("sink", StringComparison.Ordinal))
        {
            long got = 0;
            while (got < bytes)
            {
                var n = await stream.ReadAsync(buffer).ConfigureAwait(false);
                if (n == 0)
                    throw new EndOfStreamException();
                got += n;
            }
            await stream.WriteAsync(buffer.AsMemory(0, 1)).ConfigureAwait(false);
            // Wait for the server to close, so that it reads the acknowledgement first.
            while (await stream.ReadAsync(buffer).ConfigureAwait(false) > 0)
            {
            }
        }
        else
        {
            var one = new byte[1];
            while (await stream.ReadAsync(one).ConfigureAwait(false) == 1)
                await stream.WriteAsync(one).ConfigureAwait(false);
        }
    }

    // The toolstack's part for a process that plays a vchan end's domain, on a dom0 connection of its own.
    private static async Task PrepareDomainAsync(string? xenstore, ushort domain, CancellationToken cancellationToken)
    {
        await using var dom0 = await XenstoreClient.OpenAsync(xenstore, actAs: null, cancellationToken).ConfigureAwait(false);
        await VchanXenstore.PrepareDomainAsync(dom0, domain, cancellationToken).ConfigureAwait(false);
    }
}
