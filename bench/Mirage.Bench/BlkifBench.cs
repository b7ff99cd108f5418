using System.CommandLine;
using System.Diagnostics;
using Blkif;
using Blkif.Storage;
using Microsoft.Win32.SafeHandles;
using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Evtchn.Unix;
using Xen.Gnt.InHeap;
using Xen.Gnt.Unix;
using Xen.Store;
using Xen.InHeap;
using Xen.Unix;
using Xen.Store.Server;

namespace Mirage.Bench;

/// <summary>
/// Block device throughput: reads through blkfront and blkback from an image on tmpfs, against
/// <c>pread</c> of the same file from this process, in the same run. 4 KiB random reads at queue
/// depth 32 (IOPS) and 1 MiB sequential reads (MiB/s). Rounds alternate; the best of each counts.
/// </summary>
internal static class BlkifBench
{
    public static Command Create()
    {
        var sizeMiB = new Option<int>("--size") { Description = "Image size in MiB (on /dev/shm).", DefaultValueFactory = _ => 256 };
        var seconds = new Option<double>("--seconds") { Description = "Seconds per measurement.", DefaultValueFactory = _ => 2 };
        var rounds = new Option<int>("--rounds") { Description = "Alternating rounds; the best of each counts.", DefaultValueFactory = _ => 3 };
        var inHeap = new Option<bool>("--in-heap") { Description = "Both ends in this process on the in-heap backends, instead of a backend process over the Unix backends." };
        var serve = new Option<string?>("--serve") { Description = "Internal: run as the backend process for this image.", Hidden = true };
        var root = new Option<string?>("--root") { Description = "Internal: the Unix backends' root folder.", Hidden = true };
        var command = new Command("blkif", "blkfront/blkback reads of an image on tmpfs against pread of the same file.") { sizeMiB, seconds, rounds, inHeap, serve, root };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(serve) is { } image)
                return await ServeAsync(image, parse.GetValue(root)!, cancellationToken).ConfigureAwait(false);
            var size = (long)parse.GetValue(sizeMiB) << 20;
            var time = TimeSpan.FromSeconds(parse.GetValue(seconds));
            var n = parse.GetValue(rounds);
            var path = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"mirage-blkif-bench-{Environment.ProcessId}.img");
            try
            {
                CreateImage(path, size);
                var mode = parse.GetValue(inHeap) ? "both ends in one process (in-heap backends)" : "backend in a second process (Unix backends, meeting through Xenstore)";
                Console.WriteLine($"blkif bench: {size >> 20} MiB image at {path}, {mode}, {time.TotalSeconds:F1} s per measurement, best of {n} rounds, {Environment.ProcessorCount} cores");
                if (parse.GetValue(inHeap))
                {
                    await using var disk = InHeapBlkif.Open(path);
                    await Compare(path, size, disk.Frontend, time, n, static () => TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await TwoProcessesAsync(path, size, time, n, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                File.Delete(path);
            }
            return 0;
        });
        return command;
    }

    internal static async Task Compare(string path, long size, IBlockDevice device, TimeSpan time, int rounds, Func<TimeSpan> backendCpu, CancellationToken cancellationToken)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var small = new ReadBuffers(device, 32, 4096, shared: false);
        using var large = new ReadBuffers(device, 4, 1 << 20, shared: false);
        // Warm up both paths.
        PreadRandom(file, size, TimeSpan.FromMilliseconds(300));
        await DeviceRandom(device, size, small, TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
        await DeviceSequential(device, size, large, TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);

        double bestPread = 0, bestRandom = 0, bestSeqPread = 0, bestSeq1 = 0, bestSeq4 = 0, allocated = double.MaxValue;
        double preadCpu = double.MaxValue, frontCpu = double.MaxValue, backCpu = double.MaxValue;
        var ratios = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var cpu = Cpu(backendCpu);
            var (pread, preadCount) = PreadRandom(file, size, time);
            preadCpu = Math.Min(preadCpu, (Cpu(backendCpu).Front - cpu.Front).TotalMicroseconds / preadCount);
            bestPread = Math.Max(bestPread, pread);
            var before = GC.GetTotalAllocatedBytes(precise: true);
            cpu = Cpu(backendCpu);
            var (iops, count) = await DeviceRandom(device, size, small, time, cancellationToken).ConfigureAwait(false);
            var after = Cpu(backendCpu);
            allocated = Math.Min(allocated, (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)count);
            frontCpu = Math.Min(frontCpu, (after.Front - cpu.Front).TotalMicroseconds / count);
            backCpu = Math.Min(backCpu, (after.Back - cpu.Back).TotalMicroseconds / count);
            bestRandom = Math.Max(bestRandom, iops);
            ratios.Add(iops / pread);
            bestSeqPread = Math.Max(bestSeqPread, PreadSequential(file, size, time));
            using (var one = new ReadBuffers(device, 1, 1 << 20, shared: false))
                bestSeq1 = Math.Max(bestSeq1, (await DeviceSequential(device, size, one, time, cancellationToken).ConfigureAwait(false)).PerSecond);
            bestSeq4 = Math.Max(bestSeq4, (await DeviceSequential(device, size, large, time, cancellationToken).ConfigureAwait(false)).PerSecond);
        }
        ratios.Sort();
        Console.WriteLine("4 KiB random reads:");
        Console.WriteLine($"  pread, 1 thread       {bestPread,12:N0} IOPS                                 {preadCpu,5:F2} us CPU/read");
        Console.WriteLine($"  blkfront, QD 32       {bestRandom,12:N0} IOPS   {bestRandom / bestPread,6:P0} of pread (goal 50%)   {frontCpu + backCpu,5:F2} us CPU/read (frontend {frontCpu:F2}, backend {backCpu:F2}), {allocated:F1} bytes allocated/read");
        Console.WriteLine($"  ratio per round       {string.Join(" ", ratios.Select(r => r.ToString("P0")))} (median {ratios[ratios.Count / 2]:P0})");
        Console.WriteLine("1 MiB sequential reads:");
        Console.WriteLine($"  pread, 1 thread       {bestSeqPread,12:N0} MiB/s");
        Console.WriteLine($"  blkfront, QD 1        {bestSeq1,12:N0} MiB/s   {bestSeq1 / bestSeqPread,6:P0} of pread");
        Console.WriteLine($"  blkfront, QD 4        {bestSeq4,12:N0} MiB/s   {bestSeq4 / bestSeqPread,6:P0} of pread (goal 70%)");
    }

    // CPU time used so far by this process (the frontend, and pread) and by the backend.
    private static (TimeSpan Front, TimeSpan Back) Cpu(Func<TimeSpan> backendCpu) =>
        (Process.GetCurrentProcess().TotalProcessorTime, backendCpu());

    private const ushort BackendDomain = 1;
    private const ushort FrontendDomain = 2;

    // The frontend here, the backend in a child process; they meet as Xen devices do, through a
    // Xenstore daemon (this process hosts it on a socket) and the Xenbus handshake.
    private static Task TwoProcessesAsync(string path, long size, TimeSpan time, int rounds, CancellationToken cancellationToken) =>
        WithBackendProcessAsync(path, (front, backend) =>
            Compare(path, size, front, time, rounds, () => ProcessCpu.Of(backend) ?? TimeSpan.Zero, cancellationToken), cancellationToken);

    /// <summary>
    /// Runs <paramref name="body"/> with a frontend here on the image at <paramref name="path"/>, served by a
    /// backend process whose id it is given, over <paramref name="queues"/> rings (each served by its own
    /// backend thread; the backend offers one per core).
    /// </summary>
    internal static async Task WithBackendProcessAsync(string path, Func<IBlockDevice, int, Task> body, CancellationToken cancellationToken, int queues = 1)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("The Unix backends run on Linux.");
        // Grant pages on tmpfs, as the Unix backends' default root has them: on a disk file system every
        // page the backend writes into is dirty page cache that the kernel writes back.
        var root = Path.Combine("/dev/shm", $"mirage-blkif-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var socket = Path.Combine(Path.GetTempPath(), $"mirage-blkif-bench-{Environment.ProcessId}.xenstored");
        var device = new XenbusDevice(BlkifXenbus.DeviceType, 51712, FrontendDomain, BackendDomain);
        using var server = new XenstoreServer();
        using var stopServer = new CancellationTokenSource();
        var listening = new TaskCompletionSource();
        var serving = server.ListenAsync(socket, listening.SetResult, stopServer.Token);
        try
        {
            await listening.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
            await using (var toolstack = XenstoreClient.Connect(server.Connect()))
            {
                foreach (var d in new[] { BackendDomain, FrontendDomain })
                {
                    await toolstack.MkdirAsync(XsWire.DomainPath(d), cancellationToken).ConfigureAwait(false);
                    await toolstack.SetPermissionsAsync(XsWire.DomainPath(d), XsPermissions.Create(d), cancellationToken).ConfigureAwait(false);
                }
                await Xenbus.CreateDeviceAsync(toolstack, device, cancellationToken).ConfigureAwait(false);
            }
            using var child = PeerProcess.Start(["blkif", "--serve", path, "--root", root], new Dictionary<string, string> { ["XENSTORED_PATH"] = socket });
            try
            {
                await using var store = XenstoreClient.Connect(server.Connect(FrontendDomain));
                using var domain = UnixDomain.Open(new UnixDomainOptions { Domain = FrontendDomain, Root = root });
                var (events, memory) = (domain.Events, domain.Memory);
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(TimeSpan.FromSeconds(60));
                var front = await BlkifXenbus.ConnectFrontendAsync(store, device, events, memory,
                    new BlkfrontOptions { Queues = queues }, deadline.Token).ConfigureAwait(false);
                try
                {
                    await body(front, child.Id).ConfigureAwait(false);
                }
                finally
                {
                    await BlkifXenbus.CloseFrontendAsync(store, device, front, TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
                }
                await child.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                if (!child.HasExited)
                    child.Kill();
            }
        }
        finally
        {
            await stopServer.CancelAsync().ConfigureAwait(false);
            try
            {
                await serving.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<int> ServeAsync(string path, string root, CancellationToken cancellationToken)
    {
        var device = new XenbusDevice(BlkifXenbus.DeviceType, 51712, FrontendDomain, BackendDomain);
        using var domain = UnixDomain.Open(new UnixDomainOptions { Domain = BackendDomain, Root = root });
        using var storage = RawImageStorage.Open(path, readOnly: true);
        await using var store = await domain.OpenXenstoreAsync(cancellationToken).ConfigureAwait(false);
        await using var back = new Blkback<UnixEvents, UnixMemory>(domain.Events, domain.Memory, storage);
        await BlkifXenbus.ConnectBackendAsync(store, device, back, cancellationToken).ConfigureAwait(false);
        // Serves until the frontend closes the device or goes away.
        await BlkifXenbus.ServeBackendAsync(store, device, back, cancellationToken: cancellationToken).ConfigureAwait(false);
        return 0;
    }

    internal static void CreateImage(string path, long size)
    {
        using var image = new FileStream(path, FileMode.Create, FileAccess.Write);
        var chunk = new byte[1 << 20];
        new Random(1).NextBytes(chunk);
        for (long at = 0; at < size; at += chunk.Length)
            image.Write(chunk, 0, (int)Math.Min(chunk.Length, size - at));
    }

    private static (double PerSecond, long Count) PreadRandom(SafeFileHandle file, long size, TimeSpan time)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(4096, pinned: true);
        var random = new Random(2);
        var blocks = size / 4096;
        long count = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < time)
        {
            for (var i = 0; i < 64; i++)
                RandomAccess.Read(file, buffer, random.NextInt64(blocks) * 4096);
            count += 64;
        }
        return (count / clock.Elapsed.TotalSeconds, count);
    }

    private static double PreadSequential(SafeFileHandle file, long size, TimeSpan time)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(1 << 20, pinned: true);
        var chunks = size >> 20;
        long count = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < time)
        {
            RandomAccess.Read(file, buffer, (count % chunks) << 20);
            count++;
        }
        return count / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// A buffer of <paramref name="bytes"/> for reads: with <paramref name="shared"/>, and when the device
    /// is a blkfront, its own pages granted to the backend (<c>AllocateSharedBuffer</c>), into which the
    /// backend reads directly: one copy of the data, as <c>pread</c>'s into its buffer.
    /// </summary>
    private static (Memory<byte> Buffer, IDisposable? Owner) ReadBuffer(IBlockDevice device, int bytes, bool shared)
    {
        var pages = bytes / 4096;
        Xen.Gnt.Share? share = !shared ? null : device switch
        {
            Blkfront<UnixEvents, UnixMemory> unix => unix.AllocateSharedBuffer(pages),
            Blkfront<InHeapEvents, InHeapMemory> inHeap => inHeap.AllocateSharedBuffer(pages),
            _ => null,
        };
        return share is not null ? (share.Memory, share) : (GC.AllocateUninitializedArray<byte>(bytes, pinned: true), null);
    }

    /// <summary>
    /// One buffer per reader, made before a measurement starts: they are the harness's allocation, not
    /// the device's, and a figure's bytes allocated per item leave them out.
    /// </summary>
    private sealed class ReadBuffers : IDisposable
    {
        private readonly (Memory<byte> Buffer, IDisposable? Owner)[] _buffers;

        public ReadBuffers(IBlockDevice device, int readers, int bytes, bool shared) =>
            _buffers = [.. Enumerable.Range(0, readers).Select(_ => ReadBuffer(device, bytes, shared))];

        public int Count => _buffers.Length;

        public Memory<byte> this[int reader] => _buffers[reader].Buffer;

        public void Dispose()
        {
            foreach (var (_, owner) in _buffers)
                owner?.Dispose();
        }
    }

    private static async Task<(double PerSecond, long Count)> DeviceRandom(IBlockDevice device, long size, ReadBuffers buffers, TimeSpan time, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var workers = new Task<long>[buffers.Count];
        for (var w = 0; w < workers.Length; w++)
        {
            var seed = w;
            var buffer = buffers[w];
            workers[w] = Task.Run(async () =>
            {
                var random = new Random(seed);
                var blocks = size / 4096;
                long count = 0;
                // The clock is read every 16 reads, not every read: its cost is the harness's, not the device's.
                while (clock.Elapsed < time)
                {
                    for (var i = 0; i < 16; i++)
                        await device.ReadAsync(random.NextInt64(blocks) * 4096, buffer, cancellationToken).ConfigureAwait(false);
                    count += 16;
                }
                return count;
            }, cancellationToken);
        }
        var total = (await Task.WhenAll(workers).ConfigureAwait(false)).Sum();
        return (total / clock.Elapsed.TotalSeconds, total);
    }

    // Reads the image front to back in 1 MiB requests, 'depth' of them in flight.
    private static async Task<(double PerSecond, long Count)> DeviceSequential(IBlockDevice device, long size, ReadBuffers buffers, TimeSpan time, CancellationToken cancellationToken)
    {
        var chunks = size >> 20;
        long next = -1;
        var clock = Stopwatch.StartNew();
        var workers = new Task<long>[buffers.Count];
        for (var w = 0; w < workers.Length; w++)
        {
            var buffer = buffers[w];
            workers[w] = Task.Run(async () =>
            {
                long count = 0;
                while (clock.Elapsed < time)
                {
                    var chunk = Interlocked.Increment(ref next) % chunks;
                    await device.ReadAsync(chunk << 20, buffer, cancellationToken).ConfigureAwait(false);
                    count++;
                }
                return count;
            }, cancellationToken);
        }
        var total = (await Task.WhenAll(workers).ConfigureAwait(false)).Sum();
        return (total / clock.Elapsed.TotalSeconds, total);
    }

    /// <summary>4 KiB reads per second at random offsets, <paramref name="depth"/> in flight, with both sides' CPU time.</summary>
    internal static async Task<Measurement> MeasureRandomAsync(IBlockDevice device, long size, int depth, TimeSpan time, int? backend, CancellationToken cancellationToken, bool shared = false)
    {
        using var buffers = new ReadBuffers(device, depth, 4096, shared);
        var start = Sample.Take(backend);
        var (rate, count) = await DeviceRandom(device, size, buffers, time, cancellationToken).ConfigureAwait(false);
        var end = Sample.Take(backend);
        return start.Until(end, rate, count);
    }

    /// <summary>1 MiB sequential reads per second (MiB/s), <paramref name="depth"/> in flight, with both sides' CPU time.</summary>
    internal static async Task<Measurement> MeasureSequentialAsync(IBlockDevice device, long size, int depth, TimeSpan time, int? backend, CancellationToken cancellationToken, bool shared = false)
    {
        using var buffers = new ReadBuffers(device, depth, 1 << 20, shared);
        var start = Sample.Take(backend);
        var (rate, count) = await DeviceSequential(device, size, buffers, time, cancellationToken).ConfigureAwait(false);
        var end = Sample.Take(backend);
        return start.Until(end, rate, count);
    }

    /// <summary>Both ends in this process, on the in-heap backends.</summary>
    internal sealed class InHeapBlkif : IAsyncDisposable
    {
        private readonly InHeapEventHub _events = new();
        private readonly InHeapGrantHub _grants = new();
        private readonly IBlockStorage _storage;
        private readonly Blkback<InHeapEvents, InHeapMemory> _backend;

        private InHeapBlkif(IBlockStorage storage, int queues)
        {
            _storage = storage;
            var back = InHeapDomain.Open(_events, _grants, 0);
            var front = InHeapDomain.Open(_events, _grants, 1);
            _backend = new Blkback<InHeapEvents, InHeapMemory>(back.Events, back.Memory, _storage, new BlkbackOptions { MaxQueues = queues });
            Frontend = Blkfront<InHeapEvents, InHeapMemory>.Create(front.Events, front.Memory, 0, _backend.Info, new BlkfrontOptions { Queues = queues });
            _backend.Connect(1, Frontend.FrontendInfo);
        }

        public Blkfront<InHeapEvents, InHeapMemory> Frontend { get; }

        public static InHeapBlkif Open(string path) => new(RawImageStorage.Open(path, readOnly: true), 1);

        /// <summary>Both ends over <paramref name="storage"/> (which the pair then owns), with <paramref name="queues"/> rings.</summary>
        public static InHeapBlkif Open(IBlockStorage storage, int queues) => new(storage, queues);

        public async ValueTask DisposeAsync()
        {
            await Frontend.DisposeAsync().ConfigureAwait(false);
            await _backend.DisposeAsync().ConfigureAwait(false);
            _grants.Dispose();
            _events.Dispose();
            _storage.Dispose();
        }
    }

    /// <summary>
    /// Storage that stores nothing: reads leave the pages as they are, writes go nowhere. It measures
    /// the driver pair alone (rings, grants, events), with no copy and no system call per request.
    /// </summary>
    internal sealed class NullStorage(long length) : IBlockStorage
    {
        public long Length => length;

        public int SectorSize => 512;

        public int PhysicalSectorSize => 4096;

        public bool IsReadOnly => false;

        public bool CanDiscard => false;

        public int DiscardGranularity => 4096;

        public void Read(long offset, ReadOnlySpan<Memory<byte>> buffers)
        {
        }

        public void Write(long offset, ReadOnlySpan<ReadOnlyMemory<byte>> buffers)
        {
        }

        public void Flush()
        {
        }

        public void Discard(long offset, long length)
        {
        }

        public void Dispose()
        {
        }
    }
}
