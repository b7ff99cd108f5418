using System.CommandLine;
using System.Globalization;

namespace Mirage.Bench;

/// <summary>
/// Every benchmark in one run, each figure beside the best plain C for the same job (bench/c/,
/// compiled with gcc -O2 at the start) and the goal between them (issue 16's table), printed as one
/// table and, with <c>--json</c>, written as a list of rows. Each figure and its reference alternate
/// over the trials and the best of each counts: other load slows runs down, never speeds one up.
/// </summary>
internal static class AllBench
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "Tiny durations: checks that every row is produced, not how fast." };
        var json = new Option<string?>("--json") { Description = "Also write the table to this file as a JSON list of rows." };
        var seconds = new Option<double?>("--seconds") { Description = "Seconds per timed measurement (default 1; 0.05 with --quick)." };
        var trials = new Option<int?>("--trials") { Description = "Trials of each figure and reference; the best counts (default 2; 1 with --quick)." };
        var idle = new Option<double?>("--idle-seconds") { Description = "Seconds of the idle-CPU measurement (default 10; 0.3 with --quick)." };
        var only = new Option<string?>("--only") { Description = "Measure only these rows, by name, comma-separated (e.g. evtchn-rtt,vchan-rtt)." };
        var command = new Command("all", "Every benchmark against its C reference, as one table of figure, reference, ratio, goal and whether it is met.") { quick, json, seconds, trials, idle, only };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var q = parse.GetValue(quick);
            var settings = new Settings(
                q,
                parse.GetValue(seconds) ?? (q ? 0.05 : 1.0),
                Math.Max(1, parse.GetValue(trials) ?? (q ? 1 : 2)),
                parse.GetValue(idle) ?? (q ? 0.3 : 10.0),
                parse.GetValue(only) is { } names ? names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal) : null);
            var report = await RunAsync(settings, cancellationToken).ConfigureAwait(false);
            report.Print(Console.Out);
            if (parse.GetValue(json) is { } path)
                report.WriteJson(path);
            return 0;
        });
        return command;
    }

    private sealed record Settings(bool Quick, double Seconds, int Trials, double IdleSeconds, HashSet<string>? Only)
    {
        /// <summary>Whether any of <paramref name="names"/> is to be measured (all are without <c>--only</c>).</summary>
        public bool Wants(params string[] names) => Only is null || names.Any(Only.Contains);

        public string SecondsArgument => Seconds.ToString("R", CultureInfo.InvariantCulture);

        public TimeSpan Time => TimeSpan.FromSeconds(Seconds);

        /// <summary>A count of items scaled to the time per measurement, never below <paramref name="least"/>.</summary>
        public int Items(double perSecond, int least) => (int)Math.Max(least, Math.Min(int.MaxValue / 2, perSecond * Seconds));
    }

    private static async Task<Report> RunAsync(Settings s, CancellationToken cancellationToken)
    {
        var report = new Report();
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"all: {s.Seconds} s per measurement, best of {s.Trials}, idle {s.IdleSeconds} s, {Environment.ProcessorCount} cores; compiling the C references (gcc -O2)"));
        using var c = CReferences.Compile();
        var t = s.SecondsArgument;

        // Timed measurements warm up long enough for the runtime to finish optimising the hot methods.
        var warmup = TimeSpan.FromSeconds(Math.Min(0.5, s.Seconds));

        // ---- ring (in-heap, two threads) ----
        var ringItems = s.Items(20_000_000, 100_000);
        report.Add(await RowAsync(s, "ring-12b", "12-byte requests and 4-byte responses through a 16-page shared ring between two threads (in-heap backends); CPU is the whole process.",
            "round trips/s", true, () => RingBench.MeasureSmallAsync(ringItems, 1, warmup, cancellationToken),
            () => c.Run("spsc_entries", RingBench.SmallEntries.ToString(CultureInfo.InvariantCulture), ringItems.ToString(CultureInfo.InvariantCulture)),
            $"the same ring of {RingBench.SmallEntries} 12-byte entries between two threads, busy polling (spsc_entries.c)", Goal.RatioAtLeast(0.8)).ConfigureAwait(false));

        // ---- event channels (Unix backends, two processes) ----
        var rtts = s.Items(50_000, 500);
        report.Add(await RowAsync(s, "evtchn-rtt", "Event round trip between two processes over the Unix events backend, defaults (blocking waits).",
            "us", false, () => EvtchnBench.EventsRoundTripAsync(warmup, s.Time, TimeSpan.Zero, inline: false),
            () => c.Run("sock_rtt", "1", "1", t), "1-byte round trip on a Unix stream socketpair between two processes (sock_rtt.c)", Goal.RatioAtMost(0.5)).ConfigureAwait(false));
        report.Add(await RowAsync(s, "evtchn-rtt-inline", "The same with InlineCompletions on both sides: the doorbell thread runs the woken receive, so a wake-up is one thread hop, not two; no goal of its own.",
            "us", false, () => EvtchnBench.EventsRoundTripAsync(warmup, s.Time, TimeSpan.Zero, inline: true),
            () => c.Run("sock_rtt", "1", "1", t), "1-byte round trip on a Unix stream socketpair between two processes (sock_rtt.c)", null).ConfigureAwait(false));
        report.Add(await RowAsync(s, "evtchn-rtt-spin", "The same with SpinBeforeBlock 20 us on both sides.",
            "us", false, () => EvtchnBench.EventsRoundTripAsync(warmup, s.Time, TimeSpan.FromMicroseconds(20), inline: false),
            () => c.Run("shm_rtt", t), "a round trip of two counters in shared memory between two processes, spinning (shm_rtt.c)", Goal.RatioAtMost(1.5)).ConfigureAwait(false));
        // What evtchn-rtt's goal leaves to a wait that truly blocks: plain C waking its peer with a futex
        // on a shared word, no socket and no spinning. A bound for that goal, as the -c vchan rows are for theirs.
        report.Add(await RowAsync(s, "evtchn-rtt-c", "C, not C#: a round trip between two processes that each wake the other with a futex on a shared counter word and sleep on their own, no spinning (futex_rtt.c); no goal: what a blocking wait allows.",
            "us", false, () => Task.FromResult(c.Run("futex_rtt", t)),
            () => c.Run("sock_rtt", "1", "1", t), "1-byte round trip on a Unix stream socketpair between two processes (sock_rtt.c)", null).ConfigureAwait(false));

        // ---- vchan (Unix backends, two processes, meeting through Xenstore) ----
        if (s.Wants("vchan-bulk", "vchan-inpage-2k", "vchan-inpage-1k", "vchan-rtt-blocking", "idle-cpu"))
        {
            await VchanBench.WithRunnerAsync(TimeSpan.Zero, async vchan =>
            {
                report.Add(await RowAsync(s, "vchan-bulk", "Vchan throughput between two processes, 1 MiB rings, 64 KiB writes; items are writes.",
                    "MB/s", true, () => vchan.VchanThroughputAsync(1 << 20, 1 << 20, warmup, s.Time),
                    () => c.Run("shm_ring", "1048576", "65536", t), "a busy-polling SPSC byte ring of 1 MiB in shared memory between two processes, 64 KiB writes (shm_ring.c)", Goal.RatioAtLeast(0.9)).ConfigureAwait(false));
                report.Add(await RowAsync(s, "vchan-inpage-2k", "Vchan throughput with the in-page 2 KiB ring (the server's writes), 64 KiB writes.",
                    "MB/s", true, () => vchan.VchanThroughputAsync(0, 0, warmup, s.Time),
                    () => c.Run("sock_stream", t), "a Unix stream socketpair between two processes, 64 KiB writes (sock_stream.c)", Goal.RatioAtLeast(1)).ConfigureAwait(false));
                report.Add(await RowAsync(s, "vchan-inpage-1k", "Vchan throughput with the in-page 1 KiB ring (the server's writes), 64 KiB writes.",
                    "MB/s", true, () => vchan.VchanThroughputAsync(2048, 1024, warmup, s.Time),
                    () => c.Run("sock_stream", t), "a Unix stream socketpair between two processes, 64 KiB writes (sock_stream.c)", Goal.RatioAtLeast(1)).ConfigureAwait(false));
                report.Add(await RowAsync(s, "vchan-rtt-blocking", "Vchan 1-byte round trip, defaults (blocking waits); no goal of its own.",
                    "us", false, () => vchan.VchanRoundTripAsync(warmup, s.Time),
                    () => c.Run("sock_rtt", "1", "1", t), "1-byte round trip on a Unix stream socketpair (sock_rtt.c)", null).ConfigureAwait(false));
                report.Add(await RowAsync(s, "idle-cpu", "Both vchan ends connected (event channels, grants, Xenstore connections), no traffic: CPU of both processes together.",
                    "% of a core", false, () => vchan.VchanIdleAsync(TimeSpan.FromSeconds(s.IdleSeconds)), null, null, Goal.ValueAtMost(1, "% of a core")).ConfigureAwait(false));
            }, cancellationToken).ConfigureAwait(false);
        }
        if (s.Wants("vchan-bulk-spin", "vchan-inpage-1k-spin", "vchan-rtt", "idle-cpu-spin"))
        {
            await VchanBench.WithRunnerAsync(TimeSpan.FromMicroseconds(20), async vchan =>
            {
                // The throughput rows again with a bounded spin before each wait: no goal of their own, they
                // show how much of the gap to C is the blocking hand-over.
                report.Add(await RowAsync(s, "vchan-bulk-spin", "As vchan-bulk, with SpinBeforeBlock 20 us on both sides.",
                    "MB/s", true, () => vchan.VchanThroughputAsync(1 << 20, 1 << 20, warmup, s.Time),
                    () => c.Run("shm_ring", "1048576", "65536", t), "a busy-polling SPSC byte ring of 1 MiB in shared memory between two processes, 64 KiB writes (shm_ring.c)", null).ConfigureAwait(false));
                report.Add(await RowAsync(s, "vchan-inpage-1k-spin", "As vchan-inpage-1k, with SpinBeforeBlock 20 us on both sides.",
                    "MB/s", true, () => vchan.VchanThroughputAsync(2048, 1024, warmup, s.Time),
                    () => c.Run("sock_stream", t), "a Unix stream socketpair between two processes, 64 KiB writes (sock_stream.c)", null).ConfigureAwait(false));
                report.Add(await RowAsync(s, "vchan-rtt", "Vchan 1-byte round trip between two processes, SpinBeforeBlock 20 us on both sides.",
                    "us", false, () => vchan.VchanRoundTripAsync(warmup, s.Time),
                    () => c.Run("shm_rtt", t), "a round trip of two counters in shared memory between two processes, spinning (shm_rtt.c)", Goal.RatioAtMost(1.5)).ConfigureAwait(false));
                report.Add(await RowAsync(s, "idle-cpu-spin", "As idle-cpu, with SpinBeforeBlock 20 us: a bounded spin leaves an idle pair asleep.",
                    "% of a core", false, () => vchan.VchanIdleAsync(TimeSpan.FromSeconds(s.IdleSeconds)), null, null, Goal.ValueAtMost(1, "% of a core")).ConfigureAwait(false));
            }, cancellationToken).ConfigureAwait(false);
        }
        // What the vchan goals' references leave out: libxenvchan's shared page, whose header holds both
        // rings' indices and notify bytes in one cache line, and the in-page rings' sizes. Plain C that
        // keeps that wire format, written as the best compatible end we know (vchan_page.c's -best
        // modes), busy polling, shows what the format leaves to any end: a bound for these goals.
        report.Add(await RowAsync(s, "vchan-rtt-c", "C, not C#: a 1-byte round trip through libxenvchan's shared page between two processes, busy polling, every protocol step kept, by the best compatible end we know (vchan_page.c rtt-best); no goal: what the wire format allows.",
            "us", false, () => Task.FromResult(c.Run("vchan_page", "rtt-best", t)),
            () => c.Run("shm_rtt", t), "a round trip of two counters in shared memory between two processes, spinning (shm_rtt.c)", null).ConfigureAwait(false));
        foreach (var ring in new[] { 2048, 1024 })
        {
            var size = ring.ToString(CultureInfo.InvariantCulture);
            report.Add(await RowAsync(s, $"vchan-inpage-{ring / 1024}k-c", $"C, not C#: 64 KiB writes through libxenvchan's in-page {size}-byte ring between two processes, busy polling, every protocol step kept, by the best compatible end we know (vchan_page.c stream-best); no goal: what the wire format allows.",
                "MB/s", true, () => Task.FromResult(c.Run("vchan_page", "stream-best", size, t)),
                () => c.Run("sock_stream", t), "a Unix stream socketpair between two processes, 64 KiB writes (sock_stream.c)", null).ConfigureAwait(false));
        }

        // ---- netif (Unix backends, two processes) ----
        // As many frames as the rates reach in the measurement's seconds, like the C reference's run:
        // at a tenth of that, the warm-up (a fifth) ended before tiered compilation had moved the
        // frontend, a new process each trial, off its first code, and the JIT's thread took CPU
        // from the measured frames.
        foreach (var size in new[] { 64, 1500 })
        {
            var frames = s.Items(size == 64 ? 20_000_000 : 5_000_000, 20_000);
            var sizeText = size.ToString(CultureInfo.InvariantCulture);
            var goal = size == 64 ? Goal.ValueAtLeast(20e6, "frames/s").And(Goal.RatioAtLeast(0.4)) : Goal.RatioAtLeast(1);
            foreach (var toBackend in new[] { true, false })
            {
                var direction = toBackend ? "tx" : "rx";
                report.Add(await RowAsync(s, $"netif-{size}-{direction}",
                    $"{size}-byte frames, {(toBackend ? "netfront to netback" : "netback to netfront")}, two processes; measured by the receiver after a warm-up of a fifth of the frames.",
                    "frames/s", true, () => NetifBench.NetifRateAsync(frames, size, toBackend),
                    () => c.Run("shm_frames", sizeText, t), "a ring of 256 2 KiB frame slots in shared memory between two processes, indices published every 32 frames (shm_frames.c)", goal).ConfigureAwait(false));
            }
        }

        // ---- blkif ----
        var imageSize = (s.Quick ? 16L : 256L) << 20;
        var image = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"mirage-bench-all-{Environment.ProcessId}.img");
        if (s.Wants("blkif-4k", "blkif-1m", "blkif-1m-copy"))
        {
            try
            {
                BlkifBench.CreateImage(image, imageSize);
                if (s.Wants("blkif-4k"))
                {
                    await BlkifBench.WithBackendProcessAsync(image, async (front, backend) =>
                    {
                        await BlkifBench.MeasureRandomAsync(front, imageSize, 32, TimeSpan.FromMilliseconds(s.Quick ? 50 : 300), backend, cancellationToken).ConfigureAwait(false); // warm-up
                        report.Add(await RowAsync(s, "blkif-4k", "4 KiB random reads, queue depth 32, through blkfront here and blkback in another process, from an image on tmpfs.",
                            "IOPS", true, () => BlkifBench.MeasureRandomAsync(front, imageSize, 32, s.Time, backend, cancellationToken),
                            () => c.Run("blk_read", image, "rand", "4096", t, "32"), "32 threads each pread-ing random 4 KiB blocks of the same image (blk_read.c)", Goal.RatioAtLeast(1)).ConfigureAwait(false));
                    }, cancellationToken).ConfigureAwait(false);
                }
                if (s.Wants("blkif-1m", "blkif-1m-copy"))
                {
                    // Two rings, as Linux's blkfront takes one per vCPU: the backend copies on both cores.
                    await BlkifBench.WithBackendProcessAsync(image, async (front, backend) =>
                    {
                        await BlkifBench.MeasureSequentialAsync(front, imageSize, 4, TimeSpan.FromMilliseconds(s.Quick ? 50 : 300), backend, cancellationToken).ConfigureAwait(false); // warm-up
                        report.Add(await RowAsync(s, "blkif-1m", "1 MiB sequential reads, queue depth 4 over two rings, blkfront here and blkback in another process, into buffers granted to the backend (Blkfront.AllocateSharedBuffer): the backend reads into them, one copy.",
                            "MiB/s", true, () => BlkifBench.MeasureSequentialAsync(front, imageSize, 4, s.Time, backend, cancellationToken, shared: true),
                            () => c.Run("blk_read", image, "seq", "1048576", t), "a pread loop of consecutive 1 MiB blocks of the same image (blk_read.c)", Goal.RatioAtLeast(0.9)).ConfigureAwait(false));
                        report.Add(await RowAsync(s, "blkif-1m-copy", "As blkif-1m, into ordinary arrays: the data is copied out of the request's granted pages, two copies; no goal of its own.",
                            "MiB/s", true, () => BlkifBench.MeasureSequentialAsync(front, imageSize, 4, s.Time, backend, cancellationToken),
                            () => c.Run("blk_read", image, "seq", "1048576", t), "a pread loop of consecutive 1 MiB blocks of the same image (blk_read.c)", null).ConfigureAwait(false));
                    }, cancellationToken, queues: 2).ConfigureAwait(false);
                }
            }
            finally
            {
                File.Delete(image);
            }
        }
        if (s.Wants("blkif-null"))
        {
            await using (var nullDisk = BlkifBench.InHeapBlkif.Open(new BlkifBench.NullStorage(1L << 30), 4))
            {
                await BlkifBench.MeasureRandomAsync(nullDisk.Frontend, 1L << 30, 128, TimeSpan.FromMilliseconds(s.Quick ? 50 : 300), null, cancellationToken).ConfigureAwait(false); // warm-up
                report.Add(await RowAsync(s, "blkif-null", "4 KiB random reads with no storage behind blkback (both ends in this process, in-heap backends), 4 queues, 128 in flight.",
                    "IOPS", true, () => BlkifBench.MeasureRandomAsync(nullDisk.Frontend, 1L << 30, 128, s.Time, null, cancellationToken),
                    null, null, Goal.ValueAtLeast(1_000_000, "IOPS")).ConfigureAwait(false));
            }
        }

        // ---- xenstore ----
        var (request, reply) = XenstoreBench.ReadSizes;
        Measurement? rtt = null, pipelined = null, cRtt = null;
        for (var trial = 0; trial < s.Trials && s.Wants("xenstore-rtt", "xenstore-pipelined"); trial++)
        {
            var (one, many) = await XenstoreBench.MeasureReadsAsync(s.Time).ConfigureAwait(false);
            rtt = Measurement.Best(rtt, one, higherIsBetter: false);
            pipelined = Measurement.Best(pipelined, many, higherIsBetter: true);
            cRtt = Measurement.Best(cRtt, c.Run("sock_rtt", request.ToString(CultureInfo.InvariantCulture), reply.ToString(CultureInfo.InvariantCulture), t), higherIsBetter: false);
        }
        if (rtt is not null)
        {
            report.Add(new ReportRow("xenstore-rtt", "Xenstore reads of a 22-byte value, one at a time, from a daemon in this process over a Unix socket (its CPU is in this side's).",
                "us", rtt.Value, cRtt, $"{request}-byte requests and {reply}-byte replies on a Unix stream socketpair between two processes (sock_rtt.c)", Goal.RatioAtMost(1.2)));
            report.Add(new ReportRow("xenstore-pipelined", "The same reads, 256 in flight on one connection.",
                "reads/s", pipelined!.Value, null, null, Goal.ValueAtLeast(1_000_000, "reads/s")));
        }

        // ---- the C# baselines of the single benchmarks, against C ----
        report.Add(await RowAsync(s, "baseline-socket-rtt", "The C# 1-byte socketpair ping-pong the evtchn bench compares with (blocking read/write through P/Invoke).",
            "us", false, () => Task.FromResult(Timed(() => (EvtchnBench.RawRoundTrip(rtts) / 1000, rtts))),
            () => c.Run("sock_rtt", "1", "1", t), "the same in C (sock_rtt.c)", null).ConfigureAwait(false));
        var packets = s.Items(500_000, 20_000);
        report.Add(await RowAsync(s, "baseline-seqpacket-64", "The C# SOCK_SEQPACKET socketpair the netif bench compares with, 64-byte frames.",
            "frames/s", true, () => Task.FromResult(Timed(() => (NetifBench.SocketPairRate(packets, 64, childSends: false), packets))),
            () => c.Run("sock_seqpacket", "64", t), "the same in C (sock_seqpacket.c)", null).ConfigureAwait(false));
        return report;
    }

    /// <summary>Value and item count of a measurement that times itself, with this process's CPU and allocations around it.</summary>
    private static Measurement Timed(Func<(double Value, int Items)> measure)
    {
        var start = Sample.Take();
        var (value, items) = measure();
        var end = Sample.Take();
        return start.Until(end, value, items);
    }

    /// <summary>One row: the figure and its reference, alternating over the trials, the best of each kept.</summary>
    private static async Task<ReportRow?> RowAsync(Settings s, string name, string description, string unit, bool higherIsBetter,
        Func<Task<Measurement>> figure, Func<Measurement>? reference, string? referenceName, Goal? goal)
    {
        if (!s.Wants(name))
            return null;
        Measurement? best = null, bestReference = null;
        for (var trial = 0; trial < s.Trials; trial++)
        {
            best = Measurement.Best(best, await figure().ConfigureAwait(false), higherIsBetter);
            if (reference is not null)
                bestReference = Measurement.Best(bestReference, reference(), higherIsBetter);
        }
        return new ReportRow(name, description, unit, best!.Value, bestReference, referenceName, goal);
    }
}
