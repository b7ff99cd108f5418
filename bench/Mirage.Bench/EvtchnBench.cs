using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt;
using Xen.Gnt.Unix;
using SharedMemoryRing;
using Xen.Unix.Peer;

using Xen.Unix;

namespace Mirage.Bench;

/// <summary>
/// Event round trips between two processes over the Unix events backend (notify, wake, notify back),
/// against a raw one-byte ping-pong on a <c>socketpair</c> between the same two kinds of process, in
/// the same run. The second process is this program again, with a hidden role argument.
/// </summary>
public static class EvtchnBench
{
    private const string PeerRole = "evtchn-peer";

    /// <summary>The <c>evtchn</c> command, and its hidden peer role.</summary>
    public static Command Create()
    {
        var rounds = new Option<int>("--rounds") { Description = "Round trips per measurement of the socketpair baseline.", DefaultValueFactory = _ => 100_000 };
        var seconds = new Option<double>("--seconds") { Description = "Seconds per measurement of the events round trip, after half a second of warm-up.", DefaultValueFactory = _ => 1.0 };
        var trials = new Option<int>("--trials") { Description = "Measurements per variant; the best is kept.", DefaultValueFactory = _ => 3 };
        var ringItems = new Option<int>("--ring-items") { Description = "Ring round trips per ring measurement (0 skips the ring).", DefaultValueFactory = _ => 2_000_000 };
        var command = new Command("evtchn", "Unix event-channel round trip between two processes vs a raw socketpair ping-pong; ring throughput across two processes vs one.") { rounds, seconds, trials, ringItems };
        command.SetAction(async (result, _) =>
        {
            await RunAsync(result.GetValue(rounds), TimeSpan.FromSeconds(result.GetValue(seconds)), result.GetValue(trials)).ConfigureAwait(false);
            if (result.GetValue(ringItems) > 0)
                await RunRingAsync(result.GetValue(ringItems), result.GetValue(trials)).ConfigureAwait(false);
            return 0;
        });
        command.Add(PeerProcess.Command(PeerRole, PeerAsync));
        return command;
    }

    private static async Task RunAsync(int rounds, TimeSpan duration, int trials)
    {
        Console.WriteLine($"evtchn: round trips between two processes for {duration.TotalSeconds} s (the baseline: {rounds}), best of {trials} ({Environment.ProcessorCount} cores)");
        var variants = new (string Name, TimeSpan Spin, bool Inline)[]
        {
            ("UnixEvents", TimeSpan.Zero, false),
            ("UnixEvents, InlineCompletions", TimeSpan.Zero, true),
            ("UnixEvents, SpinBeforeBlock 20us", TimeSpan.FromMicroseconds(20), false),
            ("UnixEvents, SpinBeforeBlock 20us + inline", TimeSpan.FromMicroseconds(20), true),
        };
        // Trials interleave the baseline and the variants, so that a busy moment hits them alike.
        var raw = double.MaxValue;
        var best = new double[variants.Length];
        Array.Fill(best, double.MaxValue);
        for (var t = 0; t < trials; t++)
        {
            raw = Math.Min(raw, RawRoundTrip(rounds));
            for (var v = 0; v < variants.Length; v++)
                best[v] = Math.Min(best[v], (await EventsRoundTripAsync(TimeSpan.FromSeconds(0.5), duration, variants[v].Spin, variants[v].Inline).ConfigureAwait(false)).Value * 1000);
        }
        Report("socketpair 1-byte ping-pong (baseline)", raw, raw);
        for (var v = 0; v < variants.Length; v++)
            Report(variants[v].Name, best[v], raw);
    }

    private const int RingPages = 16;

    /// <summary>The same ring over the Unix backends, its backend in another process and then in this one.</summary>
    private static async Task RunRingAsync(int items, int trials)
    {
        Console.WriteLine($"ring over the Unix backends: {items:N0} request/response round trips (12-byte requests), {RingPages}-page ring, best of {trials}");
        double across = 0, within = 0;
        for (var t = 0; t < trials; t++)
        {
            across = Math.Max(across, await RingAsync(items, otherProcess: true).ConfigureAwait(false));
            within = Math.Max(within, await RingAsync(items, otherProcess: false).ConfigureAwait(false));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {"backend in this process (baseline)",-45} {within / 1e6,8:F2} M items/s  1.00x"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {"backend in another process",-45} {across / 1e6,8:F2} M items/s  {across / within,5:F2}x"));
    }

    /// <summary>Round trips per second through a ring between domain 1 (front) and domain 2 (back).</summary>
    private static async Task<double> RingAsync(int items, bool otherProcess)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("The Unix backends run on Linux.");
        var root = Path.Combine("/dev/shm", "mirage-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            using var domain = UnixDomain.Open(new UnixDomainOptions { Domain = 1, Root = root });
            var (events, memory) = (domain.Events, domain.Memory);
            using var share = memory.Share(2, RingPages, writable: true);
            var (port, channel) = events.Listen(2);
            var ring = FrontRing<RingRequest, RingResponse>.Initialise(share);
            var refs = string.Join(',', share.Refs);
            // The clock starts once the backend has mapped the ring, connected and said hello, so a
            // process start is not counted.
            using var child = otherProcess ? StartPeer("ring", root, refs, port.ToString(), items.ToString(CultureInfo.InvariantCulture)) : null;
            var back = otherProcess ? Task.CompletedTask : Task.Run(() => RingBackAsync(root, refs, port.ToString(), items));
            var hello = await events.RecvAsync(channel, EventCounter.Initial).ConfigureAwait(false);
            var start = Stopwatch.GetTimestamp();
            await RingExchange.FrontAsync(events, channel, ring, items, CancellationToken.None).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(start);
            await back.ConfigureAwait(false);
            child?.WaitForExit();
            return hello.Value > 0 ? items / elapsed.TotalSeconds : 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Domain 2's end of the ring: map it, connect, answer every request.</summary>
    private static async Task<int> RingBackAsync(string root, string refs, string port, int items)
    {
        using var domain = UnixDomain.Open(new UnixDomainOptions { Domain = 2, Root = root });
        var (events, memory) = (domain.Events, domain.Memory);
        using var ring = memory.MapMany(1, refs.Split(',').Select(GrantRef.Parse).ToArray(), writable: true);
        var channel = events.Connect(1, Port.Parse(port));
        events.Send(channel); // hello: mapped and connected
        return await RingExchange.BackAsync(events, channel, ring, items, CancellationToken.None).ConfigureAwait(false);
    }

    private static void Report(string name, double nanoseconds, double baseline) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-45} {nanoseconds / 1000,8:F2} us/round trip  {nanoseconds / baseline,5:F2}x"));

    /// <summary>Nanoseconds per round trip of one byte each way on a socketpair, child echoing with blocking read/write.</summary>
    internal static unsafe double RawRoundTrip(int rounds)
    {
        var (mine, theirs) = Interop.Libc.SocketPair(Interop.Libc.AF_UNIX, Interop.Libc.SOCK_STREAM, 0);
        using var child = StartPeer("raw", theirs.Fd.ToString(CultureInfo.InvariantCulture), mine.Fd.ToString(CultureInfo.InvariantCulture));
        theirs.Dispose();
        byte b = 1;
        var warmup = Math.Min(rounds / 10, 10_000);
        long start = 0;
        for (var i = 0; i < warmup + rounds; i++)
        {
            if (i == warmup)
                start = Stopwatch.GetTimestamp();
            if (Interop.Libc.Write(mine, &b, 1) != 1 || Interop.Libc.Read(mine, &b, 1) != 1)
                throw new IOException("the raw peer went away");
        }
        var elapsed = Stopwatch.GetElapsedTime(start);
        mine.Dispose();
        child.WaitForExit();
        return elapsed.TotalNanoseconds / rounds;
    }

    /// <summary>
    /// Microseconds per round trip of Send then RecvAsync, the child echoing each event, measured for
    /// <paramref name="duration"/> after <paramref name="warmup"/>; with the CPU time of both processes
    /// and this one's allocations over the measured round trips.
    /// </summary>
    /// <remarks>
    /// Timed, not counted: a spinning round trip is a thousand times shorter than a blocking one, and
    /// the warm-up must last long enough (a few hundred milliseconds) for both processes' hot methods
    /// to be recompiled at the runtime's full optimisation; a fixed count of spinning round trips
    /// measured the first, unoptimised code. The clock is read once per batch of round trips, as the
    /// C reference does.
    /// </remarks>
    internal static async Task<Measurement> EventsRoundTripAsync(TimeSpan warmup, TimeSpan duration, TimeSpan spin, bool inline)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("The Unix backends run on Linux.");
        const int Batch = 256;
        var root = Path.Combine("/dev/shm", "mirage-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            using var events = new UnixEvents(new UnixEventsOptions { Root = root, Domain = 1, SpinBeforeBlock = spin, InlineCompletions = inline });
            var (port, channel) = events.Listen(2);
            // The child echoes until this end closes the channel.
            using var child = StartPeer("events", root, port.ToString(), spin.Ticks.ToString(CultureInfo.InvariantCulture), inline ? "1" : "0");
            // The child says hello once connected: sends before that would be dropped.
            var seen = await events.RecvAsync(channel, EventCounter.Initial).ConfigureAwait(false);
            var until = Stopwatch.GetTimestamp() + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
            do
            {
                for (var i = 0; i < Batch; i++)
                {
                    events.Send(channel);
                    seen = await events.RecvAsync(channel, seen).ConfigureAwait(false);
                }
            }
            while (Stopwatch.GetTimestamp() < until);
            var start = Sample.Take(child.Id);
            until = start.Timestamp + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            long rounds = 0;
            do
            {
                for (var i = 0; i < Batch; i++)
                {
                    events.Send(channel);
                    seen = await events.RecvAsync(channel, seen).ConfigureAwait(false);
                }
                rounds += Batch;
            }
            while (Stopwatch.GetTimestamp() < until);
            // Taken while the child still runs, so its CPU time can be read.
            var end = Sample.Take(child.Id);
            events.Close(channel);
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            if (child.ExitCode != 0)
                throw new IOException($"The events peer failed with exit code {child.ExitCode}.");
            return start.Until(end, start.Elapsed(end).TotalMicroseconds / rounds, rounds);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static Process StartPeer(params string[] arguments) => PeerProcess.Start(["evtchn", PeerRole, .. arguments]);

    private static async Task<int> PeerAsync(string[] args)
    {
        if (args[0] == "ring")
        {
            // ring <root> <refs> <port> <items>
            await RingBackAsync(args[1], args[2], args[3], int.Parse(args[4], CultureInfo.InvariantCulture)).ConfigureAwait(false);
            return 0;
        }
        if (args[0] == "raw")
        {
            // Both ends were inherited: keep the child's, so the parent's close is an end of file here.
            new SafeFd(int.Parse(args[2], CultureInfo.InvariantCulture)).Dispose();
            using var fd = new SafeFd(int.Parse(args[1], CultureInfo.InvariantCulture));
            RawEcho(fd);
            return 0;
        }
        // events <root> <port> <spin ticks> <inline>: echoes every event until the parent closes the channel.
        using var events = new UnixEvents(new UnixEventsOptions
        {
            Root = args[1],
            Domain = 2,
            SpinBeforeBlock = TimeSpan.FromTicks(long.Parse(args[3], CultureInfo.InvariantCulture)),
            InlineCompletions = args[4] == "1",
        });
        var channel = events.Connect(1, Port.Parse(args[2]));
        events.Send(channel); // hello
        var seen = EventCounter.Initial;
        try
        {
            while (true)
            {
                seen = await events.RecvAsync(channel, seen).ConfigureAwait(false);
                events.Send(channel);
            }
        }
        catch (PeerClosedException)
        {
            return 0;
        }
    }

    private static unsafe void RawEcho(SafeFd fd)
    {
        byte b = 0;
        while (Interop.Libc.Read(fd, &b, 1) == 1)
        {
            if (Interop.Libc.Write(fd, &b, 1) != 1)
                break;
        }
    }
}
