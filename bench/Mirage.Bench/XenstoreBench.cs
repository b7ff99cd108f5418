using System.CommandLine;
using System.Diagnostics;
using System.Net.Sockets;
using Xen.Store;
using Xen.Store.Server;

namespace Mirage.Bench;

/// <summary>
/// Xenstore requests per second over a Unix socket to an in-process <see cref="XenstoreServer"/>:
/// one connection without and with pipelining, and 16 connections. The baseline is a raw Unix
/// socket ping-pong of a message of the same size, measured in the same run.
/// </summary>
public static class XenstoreBench
{
    private const string Key = "/bench/key";
    private const string Value = "a-value-of-some-length";

    /// <summary>Creates the <c>xenstore</c> benchmark command.</summary>
    public static Command Create()
    {
        var seconds = new Option<double>("--seconds") { Description = "Time per measurement.", DefaultValueFactory = _ => 2.0 };
        var command = new Command("xenstore", "Xenstore reads and writes per second: one connection, pipelined, and 16 connections.") { seconds };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await RunAsync(TimeSpan.FromSeconds(parse.GetValue(seconds))).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    private static async Task RunAsync(TimeSpan duration)
    {
        var dir = Directory.CreateTempSubdirectory("mirage-xsbench-");
        var socketPath = Path.Combine(dir.FullName, "socket");
        using var server = new XenstoreServer();
        using var stop = new CancellationTokenSource();
        var ready = new TaskCompletionSource();
        var listening = server.ListenAsync(socketPath, ready.SetResult, stop.Token);
        await ready.Task.ConfigureAwait(false);

        await using (var client = await XenstoreClient.ConnectAsync(socketPath).ConfigureAwait(false))
        {
            await client.WriteAsync(Key, Value).ConfigureAwait(false);
            var payload = XsWireHeader.Size + Key.Length + 1 + Value.Length;
            var baseline = await PingPongAsync(payload, duration).ConfigureAwait(false);
            Console.WriteLine($"xenstore bench over a Unix socket, {duration.TotalSeconds:F0} s per figure, {Environment.ProcessorCount} cores");
            Console.WriteLine($"{"baseline: raw socket ping-pong (" + payload + " B each way)",-52} {baseline,12:N0} /s");
            var reads = await MeasureAsync(duration, 1, () => client.ReadBytesAsync(Key)).ConfigureAwait(false);
            Report("reads, one connection, one at a time", reads.Value, baseline);
            var writes = await MeasureAsync(duration, 1, () => client.WriteAsync(Key, Value)).ConfigureAwait(false);
            Report("writes, one connection, one at a time", writes.Value, baseline);
            var pReads = await MeasureAsync(duration, 256, () => client.ReadBytesAsync(Key)).ConfigureAwait(false);
            Report("reads, one connection, 256 pipelined", pReads.Value, baseline);
            var pWrites = await MeasureAsync(duration, 256, () => client.WriteAsync(Key, Value)).ConfigureAwait(false);
            Report("writes, one connection, 256 pipelined", pWrites.Value, baseline);
        }

        var clients = new XenstoreClient[16];
        for (var i = 0; i < clients.Length; i++)
            clients[i] = await XenstoreClient.ConnectAsync(socketPath).ConfigureAwait(false);
        var baseline16 = await PingPongAsync(XsWireHeader.Size + Key.Length + 1, duration).ConfigureAwait(false);
        var manyReads = await MeasureManyAsync(duration, clients, c => c.ReadBytesAsync(Key)).ConfigureAwait(false);
        Report("reads, 16 connections, one at a time each", manyReads, baseline16);
        var manyWrites = await MeasureManyAsync(duration, clients, c => c.WriteAsync(Key, Value)).ConfigureAwait(false);
        Report("writes, 16 connections, one at a time each", manyWrites, baseline16);
        foreach (var c in clients)
            await c.DisposeAsync().ConfigureAwait(false);

        await stop.CancelAsync().ConfigureAwait(false);
        await listening.ConfigureAwait(false);
        dir.Delete(recursive: true);
    }

    private static void Report(string name, double perSecond, double baseline) =>
        Console.WriteLine($"{name,-52} {perSecond,12:N0} /s  ({perSecond / baseline:F2}x baseline)");

    /// <summary>Runs <paramref name="operation"/> for <paramref name="duration"/> with up to <paramref name="window"/> in flight.</summary>
    private static async Task<Measurement> MeasureAsync(TimeSpan duration, int window, Func<Task> operation)
    {
        // Warm up the JIT and the connection first.
        for (var i = 0; i < 2000; i++)
            await operation().ConfigureAwait(false);
        var inFlight = new Task[window];
        long count = 0;
        var start = Sample.Take();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            for (var i = 0; i < 1024; i++)
            {
                var slot = (int)(count % window);
                if (inFlight[slot] is { } previous)
                    await previous.ConfigureAwait(false);
                inFlight[slot] = operation();
                count++;
            }
        }
        foreach (var t in inFlight)
        {
            if (t is not null)
                await t.ConfigureAwait(false);
        }
        var end = Sample.Take();
        return start.Until(end, count / start.Elapsed(end).TotalSeconds, count);
    }

    /// <summary>
    /// Reads of a 22-byte value from an in-process daemon over a Unix socket: one at a time (the value
    /// is microseconds per read) and 256 pipelined on one connection (reads per second). The daemon
    /// runs in this process, so its CPU time is in this side's.
    /// </summary>
    internal static async Task<(Measurement OneAtATime, Measurement Pipelined)> MeasureReadsAsync(TimeSpan duration)
    {
        var dir = Directory.CreateTempSubdirectory("mirage-xsbench-");
        var socketPath = Path.Combine(dir.FullName, "socket");
        using var server = new XenstoreServer();
        using var stop = new CancellationTokenSource();
        var ready = new TaskCompletionSource();
        var listening = server.ListenAsync(socketPath, ready.SetResult, stop.Token);
        try
        {
            await ready.Task.ConfigureAwait(false);
            await using var client = await XenstoreClient.ConnectAsync(socketPath).ConfigureAwait(false);
            await client.WriteAsync(Key, Value).ConfigureAwait(false);
            var one = await MeasureReadsIntoAsync(client, duration, 1).ConfigureAwait(false);
            var pipelined = await MeasureReadsIntoAsync(client, duration, 256).ConfigureAwait(false);
            return (one with { Value = 1e6 / one.Value }, pipelined);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await listening.ConfigureAwait(false);
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Reads of the bench's key for <paramref name="duration"/> with up to <paramref name="window"/> in
    /// flight, each into a buffer of its own (<see cref="XenstoreOperations.ReadBytesAsync(string, Memory{byte}, CancellationToken)"/>,
    /// the read that allocates nothing).
    /// </summary>
    private static async Task<Measurement> MeasureReadsIntoAsync(XenstoreClient client, TimeSpan duration, int window)
    {
        var buffers = new byte[window][];
        for (var i = 0; i < window; i++)
            buffers[i] = new byte[64];
        for (var i = 0; i < 2000; i++)
            await client.ReadBytesAsync(Key, buffers[0]).ConfigureAwait(false);
        var inFlight = new ValueTask<int>[window];
        var started = new bool[window];
        long count = 0;
        var start = Sample.Take();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            for (var i = 0; i < 1024; i++)
            {
                var slot = (int)(count % window);
                if (started[slot] && await inFlight[slot].ConfigureAwait(false) != Value.Length)
                    throw new InvalidOperationException("A read returned the wrong length.");
                inFlight[slot] = client.ReadBytesAsync(Key, buffers[slot]);
                started[slot] = true;
                count++;
            }
        }
        for (var slot = 0; slot < window; slot++)
        {
            if (started[slot])
                await inFlight[slot].ConfigureAwait(false);
        }
        var end = Sample.Take();
        return start.Until(end, count / start.Elapsed(end).TotalSeconds, count);
    }

    /// <summary>The sizes of a read of the bench's key on the wire: the request (header, path, NUL) and the reply (header, value).</summary>
    internal static (int Request, int Reply) ReadSizes => (XsWireHeader.Size + Key.Length + 1, XsWireHeader.Size + Value.Length);

    private static async Task<double> MeasureManyAsync(TimeSpan duration, XenstoreClient[] clients, Func<XenstoreClient, Task> operation)
    {
        var clock = Stopwatch.StartNew();
        var counts = await Task.WhenAll(clients.Select(c => Task.Run(async () =>
        {
            long n = 0;
            while (clock.Elapsed < duration)
            {
                await operation(c).ConfigureAwait(false);
                n++;
            }
            return n;
        }))).ConfigureAwait(false);
        return counts.Sum() / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Round trips per second of a message of <paramref name="size"/> bytes over a raw Unix socket pair, echoed back.</summary>
    private static async Task<double> PingPongAsync(int size, TimeSpan duration)
    {
        var (a, b) = SocketPair();
        using (a)
        using (b)
        {
            var echo = Task.Run(async () =>
            {
                var buffer = new byte[size];
                while (true)
                {
                    var got = 0;
                    while (got < size)
                    {
                        var n = await b.ReceiveAsync(buffer.AsMemory(got)).ConfigureAwait(false);
                        if (n == 0)
                            return;
                        got += n;
                    }
                    await b.SendAsync(buffer).ConfigureAwait(false);
                }
            });
            var message = new byte[size];
            var reply = new byte[size];
            long count = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < duration)
            {
                await a.SendAsync(message).ConfigureAwait(false);
                var got = 0;
                while (got < size)
                    got += await a.ReceiveAsync(reply.AsMemory(got)).ConfigureAwait(false);
                count++;
            }
            var rate = count / clock.Elapsed.TotalSeconds;
            a.Shutdown(SocketShutdown.Both);
            await echo.ConfigureAwait(false);
            return rate;
        }
    }

    private static (Socket, Socket) SocketPair()
    {
        var path = Path.Combine(Path.GetTempPath(), "mirage-pp-" + Guid.NewGuid().ToString("N")[..8]);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var a = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        a.Connect(new UnixDomainSocketEndPoint(path));
        var b = listener.Accept();
        File.Delete(path);
        return (a, b);
    }
}
