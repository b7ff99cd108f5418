using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Netif;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;
using Xen.Store;
using Xen.Store.Server;
using Xen.Unix;

namespace Mirage.Bench;

/// <summary>
/// Netfront and netback in two processes over the Unix backends, meeting through Xenstore: frames per
/// second each way at 64 and 1,500 bytes, against a <c>SOCK_SEQPACKET</c> socketpair between two
/// processes in the same run. This process is the backend (dom0, a counting sink or a frame source
/// as its link); a child process of this program is the frontend (dom1). Each rate is measured by
/// the receiving side from its first frame to its last.
/// </summary>
internal static class NetifBench
{
    private const string PeerRole = "netif-peer";

    /// <summary>The <c>netif</c> command, and its hidden peer role.</summary>
    public static Command Create()
    {
        var frames = new Option<int>("--frames") { Description = "Frames per trial at 64 bytes (half as many at 1,500).", DefaultValueFactory = _ => 1_000_000 };
        var trials = new Option<int>("--trials") { Description = "Trials of each; the best is kept.", DefaultValueFactory = _ => 3 };
        var command = new Command("netif", "Netfront/netback frames per second each way between two processes, against a SOCK_SEQPACKET socketpair.") { frames, trials };
        command.SetAction(async (parse, _) =>
        {
            await RunAsync(parse.GetValue(frames), parse.GetValue(trials)).ConfigureAwait(false);
            return 0;
        });
        command.Add(PeerProcess.Command(PeerRole, PeerAsync));
        return command;
    }

    private static async Task RunAsync(int frames, int trials)
    {
        Console.WriteLine($"netif bench: best of {trials} trials, frames per second measured by the receiver, {Environment.ProcessorCount} cores");
        Console.WriteLine($"  {"size",5} {"direction",-22} {"socketpair",12} {"netif",12} {"ratio",7}");
        foreach (var size in new[] { 64, 1500 })
        {
            var n = size == 64 ? frames : frames / 2;
            foreach (var toBackend in new[] { true, false })
            {
                double socket = 0, netif = 0;
                for (var t = 0; t < trials; t++)
                {
                    socket = Math.Max(socket, SocketPairRate(n, size, toBackend));
                    netif = Math.Max(netif, (await NetifRateAsync(n, size, toBackend).ConfigureAwait(false)).Value);
                }
                var direction = toBackend ? "frontend -> backend" : "backend -> frontend";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {size,5} {direction,-22} {socket,12:N0} {netif,12:N0} {netif / socket,6:F2}x"));
            }
        }
    }

    // ---- netif ------------------------------------------------------------------------------

    /// <summary>
    /// Frames not measured at the start of a run: both processes' code is still being compiled
    /// (tiered compilation moves the hot loops to optimised code some 100 ms after they start,
    /// which at 64 bytes is a few million frames), and the figure is of the steady state.
    /// </summary>
    internal static int WarmUp(int count) => count / 5;

    /// <summary>
    /// Frames per second one way, measured by the receiver from its first frame after the
    /// <see cref="WarmUp"/> to its last, with the CPU time of both processes and this one's
    /// allocations from the backend's first frame after the warm-up to the rate.
    /// </summary>
    internal static async Task<Measurement> NetifRateAsync(int count, int size, bool toBackend)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("The Unix backends run on Linux.");
        var folder = Directory.CreateTempSubdirectory("mirage-netif-bench-").FullName;
        var root = Path.Combine("/dev/shm", "mirage-netif-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var socket = Path.Combine(folder, "xenstored.sock");
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var stopServer = new CancellationTokenSource();
        using var server = new XenstoreServer();
        var listening = server.ListenAsync(socket, null, stopServer.Token);
        try
        {
            while (!File.Exists(socket))
                await Task.Delay(10).ConfigureAwait(false);
            using var domain = UnixDomain.Open(new UnixDomainOptions { Root = root, Domain = 0, Xenstore = socket });
            var store = await domain.OpenXenstoreAsync().ConfigureAwait(false);
            var (events, memory) = (domain.Events, domain.Memory);
            var device = new XenbusDevice(NetifXenstore.DeviceType, 0, 1, 0);
            await Xenbus.CreateDeviceAsync(store, device).ConfigureAwait(false);
            var link = new BenchLink(count, size, toBackend);
            // The frontend is killed, not closed: do not wait for it to follow the close. It is this project's
            // netfront, which keeps its grants, so the pages stay mapped across frames as before Linux's
            // netfront made mapping per frame the default.
            var options = new NetbackOptions { KeepMappings = true };
            var netback = new NetbackDevice<UnixEvents, UnixMemory>(store, device, events, memory, link, options) { CloseTimeout = TimeSpan.FromMilliseconds(50) };
            var serving = netback.RunAsync(stop.Token);
            using var child = StartPeer(socket, root, toBackend ? "send" : "receive", count.ToString(CultureInfo.InvariantCulture), size.ToString(CultureInfo.InvariantCulture));
            link.Peer = child.Id;
            Measurement rate;
            if (toBackend)
            {
                await link.Done.Task.WaitAsync(stop.Token).ConfigureAwait(false);
                rate = link.First.Until(link.Last, link.Rate, count - WarmUp(count) - 1);
            }
            else
            {
                var line = await child.StandardOutput.ReadLineAsync(stop.Token).ConfigureAwait(false);
                var end = Sample.Take(child.Id);
                rate = link.First.Until(end, double.Parse(line ?? throw new IOException("The netfront peer died."), CultureInfo.InvariantCulture), count - WarmUp(count));
            }
            child.Kill();
            await child.WaitForExitAsync().ConfigureAwait(false);
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await serving.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            await store.DisposeAsync().ConfigureAwait(false);
            return rate;
        }
        finally
        {
            await stopServer.CancelAsync().ConfigureAwait(false);
            try
            {
                await listening.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            Directory.Delete(folder, recursive: true);
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The backend's side: a sink that copies and counts what the frontend sends, or a source of <c>count</c> frames.</summary>
    private sealed class BenchLink(int count, int size, bool sink) : INetworkLink
    {
        private readonly byte[] _frame = new byte[size];
        private readonly byte[] _scratch = new byte[Frames.MaxFrame];
        private readonly int _warmUp = WarmUp(count);
        private int _done;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The frontend's process, whose CPU time the samples read.</summary>
        public int Peer { get; set; }

        /// <summary>Taken at the first frame this side handles after the warm-up.</summary>
        public Sample First { get; private set; }

        /// <summary>Taken at the last frame the sink counts.</summary>
        public Sample Last { get; private set; }

        public double Rate => (count - _warmUp - 1) / First.Elapsed(Last).TotalSeconds;

        public bool TryWrite(ReadOnlySpan<byte> frame, FrameOffload offload)
        {
            if (!sink)
                return true;
            frame.CopyTo(_scratch);
            var n = ++_done;
            if (n == _warmUp + 1)
                First = Sample.Take(Peer);
            if (n == count)
            {
                Last = Sample.Take(Peer);
                Done.TrySetResult();
            }
            return true;
        }

        public ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(true);

        public bool TryRead(Span<byte> destination, out ReceivedFrame frame)
        {
            frame = default;
            if (sink || _done == count)
                return false;
            frame = new ReceivedFrame(size, default);
            if (size > destination.Length)
                return false;
            if (_done == _warmUp)
                First = Sample.Take(Peer);
            _frame.CopyTo(destination);
            _done++;
            return true;
        }

        public async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
        {
            if (!sink && _done < count)
                return true;
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            return false;
        }
    }

    private static Process StartPeer(string socket, string root, params string[] arguments) =>
        PeerProcess.Start(["netif", PeerRole, .. arguments], new Dictionary<string, string> { ["XENSTORED_PATH"] = socket, ["XEN_ROOT"] = root }, redirectOutput: true);

    private static async Task<int> PeerAsync(string[] args)
    {
        var count = int.Parse(args[^2], CultureInfo.InvariantCulture);
        var size = int.Parse(args[^1], CultureInfo.InvariantCulture);
        if (args[0] is "sock-send" or "sock-recv")
        {
            using var fd = new SafeFd(int.Parse(args[1], CultureInfo.InvariantCulture));
            new SafeFd(int.Parse(args[2], CultureInfo.InvariantCulture)).Dispose();
            if (args[0] == "sock-send")
                SocketSend(fd, count, size);
            else
                Console.WriteLine(SocketReceive(fd, count, size).ToString("R", CultureInfo.InvariantCulture));
            return 0;
        }
        // The frontend, domain 1.
        using var domain = UnixDomain.Open(new UnixDomainOptions { Domain = 1 });
        await using var store = await domain.OpenXenstoreAsync().ConfigureAwait(false);
        var (events, memory) = (domain.Events, domain.Memory);
        var device = new XenbusDevice(NetifXenstore.DeviceType, 0, 1, 0);
        var frontend = new NetfrontDevice<UnixEvents, UnixMemory>(store, device, events, memory);
        await frontend.RunAsync(async (netfront, token) =>
        {
            var queue = netfront.Queues[0];
            if (args[0] == "send")
            {
                await SendAsync(queue, count, size, token).ConfigureAwait(false);
                await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false); // until the backend has counted them
            }
            else
            {
                Console.WriteLine((await ReceiveAsync(queue, count, token).ConfigureAwait(false)).ToString("R", CultureInfo.InvariantCulture));
            }
        }).ConfigureAwait(false);
        return 0;
    }

    private static async Task SendAsync(NetfrontQueue queue, int count, int size, CancellationToken token)
    {
        var frame = new byte[size];
        for (var sent = 0; sent < count;)
        {
            if (queue.TrySend(frame))
            {
                if ((++sent & 31) == 0)
                    queue.Flush();
                continue;
            }
            queue.Flush();
            await queue.WaitToSendAsync(token).ConfigureAwait(false);
        }
        queue.Flush();
    }

    private static async Task<double> ReceiveAsync(NetfrontQueue queue, int count, CancellationToken token)
    {
        var buffer = new byte[queue.MaxFrame];
        var warmUp = WarmUp(count);
        long first = 0;
        for (var got = 0; got < count;)
        {
            if (queue.TryReceive(buffer, out _))
            {
                if (got++ == warmUp)
                    first = Stopwatch.GetTimestamp();
                continue;
            }
            await queue.WaitToReceiveAsync(token).ConfigureAwait(false);
        }
        return (count - warmUp - 1) / Stopwatch.GetElapsedTime(first).TotalSeconds;
    }

    // ---- socketpair baseline -------------------------------------------------------------------

    internal static unsafe double SocketPairRate(int count, int size, bool childSends)
    {
        var (mine, theirs) = Interop.Libc.SocketPair(Interop.Libc.AF_UNIX, Interop.Libc.SOCK_SEQPACKET, 0);
        using var child = StartPeer("", "", childSends ? "sock-send" : "sock-recv", theirs.Fd.ToString(CultureInfo.InvariantCulture), mine.Fd.ToString(CultureInfo.InvariantCulture),
            count.ToString(CultureInfo.InvariantCulture), size.ToString(CultureInfo.InvariantCulture));
        theirs.Dispose();
        double rate;
        if (childSends)
        {
            rate = SocketReceive(mine, count, size);
        }
        else
        {
            SocketSend(mine, count, size);
            rate = double.Parse(child.StandardOutput.ReadLine() ?? throw new IOException("The socket peer died."), CultureInfo.InvariantCulture);
        }
        mine.Dispose();
        child.WaitForExit();
        return rate;
    }

    private static unsafe void SocketSend(SafeFd fd, int count, int size)
    {
        var frame = new byte[size];
        fixed (byte* p = frame)
        {
            for (var i = 0; i < count; i++)
            {
                if (Interop.Libc.Write(fd, p, (nuint)size) != size)
                    throw new IOException("socket write failed: errno " + Marshal.GetLastPInvokeError());
            }
        }
    }

    private static unsafe double SocketReceive(SafeFd fd, int count, int size)
    {
        var buffer = new byte[Frames.MaxFrame];
        long first = 0;
        fixed (byte* p = buffer)
        {
            for (var i = 0; i < count; i++)
            {
                if (Interop.Libc.Read(fd, p, (nuint)buffer.Length) != size)
                    throw new IOException("socket read failed: errno " + Marshal.GetLastPInvokeError());
                if (i == 0)
                    first = Stopwatch.GetTimestamp();
            }
        }
        return (count - 1) / Stopwatch.GetElapsedTime(first).TotalSeconds;
    }
}
