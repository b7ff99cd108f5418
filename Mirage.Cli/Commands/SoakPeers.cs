using System.Buffers.Binary;
using System.Globalization;
using Blkif;
using Netif;
using Netif.Links;
using Vchan;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;
using Xen.Store;
using Xen.Unix;

namespace Mirage.Cli.Commands;

/// <summary>
/// The soak's own parties, each a process (<c>mirage soak --peer &lt;role&gt;</c>): the vchan's two ends,
/// netback and netfront, the blkfront, and a Xenstore client. Each reports on standard output, one line
/// per fact, written and flushed before the fact is passed on: a receiver says what it received before it
/// acknowledges it, so that a kill between the two can only make the books err towards "received".
/// "noticed" says that the other end died. Blkback and the daemon are the plain <c>mirage blkback</c> and
/// <c>mirage xenstored</c>.
/// </summary>
internal static class SoakPeers
{
    public const ushort VchanServer = 11, VchanClient = 12, Netback = 21, Netfront = 22, Blkback = 31, Blkfront = 32;

    /// <summary>The blkif disk: this many 4 KiB blocks. Block 0 is the marker, written once per frontend.</summary>
    public const int Blocks = 256;

    public const int BlockSize = 4096;

    private const int VchanWindow = 256 * 1024;

    // The peer's environment: which generation it belongs to, whether to fake one acknowledgement, the pace.
    public const string GenerationVariable = "MIRAGE_SOAK_GENERATION";
    public const string FaultVariable = "MIRAGE_SOAK_FAULT";
    public const string DaemonVariable = "MIRAGE_SOAK_DAEMON";
    public const string VerifyOnlyVariable = "MIRAGE_SOAK_VERIFY_ONLY";

    public static async Task<int> RunAsync(string role, CancellationToken cancellationToken)
    {
        var generation = int.Parse(Environment.GetEnvironmentVariable(GenerationVariable) ?? "1", NumberStyles.None, CultureInfo.InvariantCulture);
        var fault = Environment.GetEnvironmentVariable(FaultVariable) == "1";
        using var stop = StopSignals.Link(cancellationToken);
        try
        {
            return role switch
            {
                "vchan-send" => await VchanSendAsync(generation, stop.Token).ConfigureAwait(false),
                "vchan-receive" => await VchanReceiveAsync(generation, fault, stop.Token).ConfigureAwait(false),
                "netback" => await NetbackAsync(generation, fault, stop.Token).ConfigureAwait(false),
                "netfront" => await NetfrontAsync(generation, stop.Token).ConfigureAwait(false),
                "blkfront" => await BlkfrontAsync(generation, fault, stop.Token).ConfigureAwait(false),
                "xenstore" => await XenstoreAsync(generation, fault, stop.Token).ConfigureAwait(false),
                _ => throw new ArgumentException($"unknown soak peer {role}"),
            };
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // SIGTERM: the soak's end. What was reported stands.
            return 0;
        }
    }

    private static void Say(string line) => Console.Out.WriteLine(line);

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    // ---- vchan: the server sends a pattern, the client checks it and acknowledges totals back. ----

    public static string VchanPort(int generation) => "soak" + N(generation);

    private static byte PatternByte(long offset) => (byte)(offset ^ (offset >> 8) ^ (offset >> 16) * 7);

    private static async Task<int> VchanSendAsync(int generation, CancellationToken cancellationToken)
    {
        using var domain = UnixDomain.Open(new UnixDomainOptions { Domain = VchanServer });
        await VchanCatCommand.PrepareDomainAsync(xenstore: null, VchanServer, cancellationToken).ConfigureAwait(false);
        await VchanCatCommand.PrepareDomainAsync(xenstore: null, VchanClient, cancellationToken).ConfigureAwait(false);
        await using var store = await domain.OpenXenstoreAsync(cancellationToken).ConfigureAwait(false);
        await using var endpoint = await VchanXenstore.ListenAsync(domain.Events, domain.Memory, store, VchanClient, VchanPort(generation), 64 * 1024, 64 * 1024, cancellationToken).ConfigureAwait(false);
        Say("listening");
        await endpoint.WaitForConnectionAsync(cancellationToken).ConfigureAwait(false);
        Say("ready");
        long acknowledged = 0;
        using var acks = new SemaphoreSlim(0);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = Task.Run(async () =>
        {
            var ack = new byte[8];
            try
            {
                while (true)
                {
                    for (var got = 0; got < 8;)
                    {
                        var n = await endpoint.ReadAsync(ack.AsMemory(got), stop.Token).ConfigureAwait(false);
                        if (n == 0)
                            return;
                        got += n;
                    }
                    var total = BinaryPrimitives.ReadInt64LittleEndian(ack);
                    Say("vchan-acked " + N(total));
                    Volatile.Write(ref acknowledged, total);
                    acks.Release();
                }
            }
            catch (IOException)
            {
            }
        }, CancellationToken.None);
        var writing = Task.Run(async () =>
        {
            var chunk = new byte[16 * 1024];
            long sent = 0;
            try
            {
                while (!reading.IsCompleted)
                {
                    if (sent - Volatile.Read(ref acknowledged) >= VchanWindow)
                    {
                        await acks.WaitAsync(TimeSpan.FromMilliseconds(100), stop.Token).ConfigureAwait(false);
                        continue;
                    }
                    for (var i = 0; i < chunk.Length; i++)
                        chunk[i] = PatternByte(sent + i);
                    await endpoint.WriteAsync(chunk, stop.Token).ConfigureAwait(false);
                    sent += chunk.Length;
                    await Task.Delay(1, stop.Token).ConfigureAwait(false);
                }
            }
            catch (IOException)
            {
            }
        }, CancellationToken.None);
        await Task.WhenAny(reading, writing).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        Say("noticed vchan-receive");
        await stop.CancelAsync().ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> VchanReceiveAsync(int generation, bool fault, CancellationToken cancellationToken)
    {
        using var domain = UnixDomain.Open(new UnixDomainOptions { Domain = VchanClient });
        await using var store = await domain.OpenXenstoreAsync(cancellationToken).ConfigureAwait(false);
        await using var endpoint = await VchanXenstore.ConnectAsync(domain.Events, domain.Memory, store, VchanServer, VchanPort(generation), TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        Say("ready");
        var buffer = new byte[16 * 1024];
        var ack = new byte[8];
        long total = 0;
        try
        {
            int n;
            while ((n = await endpoint.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) != 0)
            {
                for (var i = 0; i < n; i++)
                {
                    if (buffer[i] != PatternByte(total + i))
                    {
                        Say("vchan-bad " + N(total + i));
                        return 1;
                    }
                }
                total += n;
                Say("vchan-received " + N(total));
                // The fault: acknowledge bytes that never arrived. A report is always followed by its
                // acknowledgement, even when the soak stops this process, so that the books end even.
                BinaryPrimitives.WriteInt64LittleEndian(ack, fault ? total + BlockSize : total);
                await endpoint.WriteAsync(ack, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
        }
        cancellationToken.ThrowIfCancellationRequested();
        Say("noticed vchan-send");
        return 0;
    }

    // ---- netif: the netfront sends numbered frames; the netback reports each before it loops it back. ----

    private const int FrameHeader = 16;

    private static void FillFrame(Span<byte> frame, long sequence)
    {
        BinaryPrimitives.WriteInt64LittleEndian(frame, sequence);
        for (var i = FrameHeader; i < frame.Length; i++)
            frame[i] = PatternByte(sequence * 31 + i);
        BinaryPrimitives.WriteUInt64LittleEndian(frame[8..], Checksum(frame[FrameHeader..]));
    }

    private static bool CheckFrame(ReadOnlySpan<byte> frame, out long sequence)
    {
        sequence = frame.Length >= FrameHeader ? BinaryPrimitives.ReadInt64LittleEndian(frame) : -1;
        return frame.Length >= FrameHeader && BinaryPrimitives.ReadUInt64LittleEndian(frame[8..]) == Checksum(frame[FrameHeader..]);
    }

    // FNV-1a: any changed, lost or moved byte changes it (almost surely).
    private static ulong Checksum(ReadOnlySpan<byte> data)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in data)
            hash = (hash ^ b) * 1099511628211UL;
        return hash ^ (ulong)data.Length;
    }

    public static XenbusDevice NetifDevice(int generation) => new(NetifXenstore.DeviceType, (uint)generation, Netfront, Netback);

    private static async Task<int> NetbackAsync(int generation, bool fault, CancellationToken cancellationToken)
    {
        using var domain = UnixDomain.Open(new UnixDomainOptions { Domain = Netback });
        var device = NetifDevice(generation);
        await using (var dom0 = await XenstoreClient.OpenAsync(null, actAs: null, cancellationToken).ConfigureAwait(false))
        {
            // The toolstack's step: both homes, then the device the frontend will find.
            await HomeAsync(dom0, Netback, cancellationToken).ConfigureAwait(false);
            await HomeAsync(dom0, Netfront, cancellationToken).ConfigureAwait(false);
            await Xenbus.CreateDeviceAsync(dom0, device, cancellationToken).ConfigureAwait(false);
            await dom0.WriteAsync(device.FrontendPath + "/mac", "00:16:3e:00:00:16", cancellationToken).ConfigureAwait(false);
        }
        Say("serving");
        await using var store = await domain.OpenXenstoreAsync(cancellationToken).ConfigureAwait(false);
        using var loopback = NetworkLink.CreateLoopback();
        var link = new ReportingLink(loopback, fault);
        var netback = new NetbackDevice<UnixEvents, UnixMemory>(store, device, domain.Events, domain.Memory, link, new NetbackOptions { Name = "soak" });
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        netback.Connected += (_, _) => Say("ready");
        netback.Disconnected += (_, _) => ended.TrySetResult();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = netback.RunAsync(stop.Token);
        await Task.WhenAny(ended.Task, run).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        Say("noticed netfront");
        await stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await run.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
        }
        return 0;
    }

    private static async Task HomeAsync(XenstoreClient dom0, ushort domain, CancellationToken cancellationToken)
    {
        var home = XsWire.DomainPath(domain);
        if (await dom0.TryReadAsync(home, cancellationToken).ConfigureAwait(false) is null)
        {
            await dom0.MkdirAsync(home, cancellationToken).ConfigureAwait(false);
            await dom0.SetPermissionsAsync(home, XsPermissions.Create(domain), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The netback's far side: reports each frame the frontend sent, then loops it back.</summary>
    private sealed class ReportingLink(QueueLink inner, bool fault) : INetworkLink
    {
        public bool TryWrite(ReadOnlySpan<byte> frame, FrameOffload offload)
        {
            if (!CheckFrame(frame, out var sequence))
                Say("net-bad " + N(sequence));
            // The fault: loop one frame back without reporting it, as a link that lost what it acknowledged.
            else if (!(fault && sequence == 10))
                Say("net-received " + N(sequence));
            return inner.TryWrite(frame, offload);
        }

        public ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => inner.WaitToWriteAsync(cancellationToken);

        public bool TryRead(Span<byte> destination, out ReceivedFrame frame) => inner.TryRead(destination, out frame);

        public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) => inner.WaitToReadAsync(cancellationToken);
    }

    private static async Task<int> NetfrontAsync(int generation, CancellationToken cancellationToken)
    {
        using var domain = UnixDomain.Open(new UnixDomainOptions { Domain = Netfront });
        await using var store = await domain.OpenXenstoreAsync(cancellationToken).ConfigureAwait(false);
        var netfront = new NetfrontDevice<UnixEvents, UnixMemory>(store, NetifDevice(generation), domain.Events, domain.Memory, new NetfrontOptions { Queues = 1, Name = "soak" });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sizes = new Random(generation);
        long sequence = 0;
        var run = netfront.RunAsync(async (nf, token) =>
        {
            var queue = nf.Queues[0];
            Say("ready");
            var frame = new byte[1500];
            var buffer = new byte[Math.Max(queue.MaxFrame, Frames.MaxFrame)];
            try
            {
                while (true)
                {
                    // A burst of 32 frames, then each one back, checked.
                    const int Burst = 32;
                    var first = sequence;
                    for (var i = 0; i < Burst; i++)
                    {
                        var length = sizes.Next(60, 1501);
                        FillFrame(frame.AsSpan(0, length), sequence++);
                        await queue.SendAsync(frame.AsMemory(0, length), cancellationToken: token).ConfigureAwait(false);
                    }
                    using var late = CancellationTokenSource.CreateLinkedTokenSource(token);
                    late.CancelAfter(TimeSpan.FromSeconds(10));
                    for (var back = 0; back < Burst; back++)
                    {
                        ReceivedFrame received;
                        try
                        {
                            received = await queue.ReceiveAsync(buffer, late.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (!token.IsCancellationRequested)
                        {
                            Say($"net-late {N(Burst - back)}");
                            break;
                        }
                        if (CheckFrame(buffer.AsSpan(0, received.Length), out var s) && s >= first && s < sequence)
                            Say($"net-acknowledged {N(s)}");
                        else
                            Say("net-bad " + N(s));
                    }
                    await Task.Delay(2, token).ConfigureAwait(false);
                }
            }
            finally
            {
                // The session ended: the backend went away (or the soak stops this process).
                if (!cancellationToken.IsCancellationRequested)
                {
                    Say("noticed netback");
                    await stop.CancelAsync().ConfigureAwait(false);
                }
            }
        }, stop.Token);
        try
        {
            await run.ConfigureAwait(false);
        }
        catch (Exception) when (stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
        }
        cancellationToken.ThrowIfCancellationRequested();
        return 0;
    }

    // ---- blkif: versioned blocks, each a header (block, version) and a pattern made from both. ----

    public static XenbusDevice BlkifDevice(int generation) => new(BlkifXenbus.DeviceType, 51712u + (uint)generation, Blkfront, Blkback);

    public static long BlockVersion(int generation, long counter) => (long)generation * 1_000_000_000L + counter;

    private static void FillBlock(Span<byte> block, int number, long version)
    {
        BinaryPrimitives.WriteInt64LittleEndian(block, number);
        BinaryPrimitives.WriteInt64LittleEndian(block[8..], version);
        for (var i = 16; i < block.Length; i++)
            block[i] = PatternByte(version * 4099 + number * 17 + i);
    }

    /// <summary>The version a block holds: 0 for a block never written (all zeros); -1 for a block whose content matches no write.</summary>
    private static long ReadVersion(ReadOnlySpan<byte> block, int number)
    {
        if (!block.ContainsAnyExcept((byte)0))
            return 0;
        var version = BinaryPrimitives.ReadInt64LittleEndian(block[8..]);
        if (BinaryPrimitives.ReadInt64LittleEndian(block) != number || version <= 0)
            return -1;
        Span<byte> expected = stackalloc byte[BlockSize];
        FillBlock(expected, number, version);
        return block.SequenceEqual(expected) ? version : -1;
    }

    private static async Task<int> BlkfrontAsync(int generation, bool fault, CancellationToken cancellationToken)
    {
        using var domain = UnixDomain.Open(new UnixDomainOptions { Domain = Blkfront });
        await using var store = await domain.OpenXenstoreAsync(cancellationToken).ConfigureAwait(false);
        var device = BlkifDevice(generation);
        Blkfront<UnixEvents, UnixMemory> front;
        using (var deadline = BlkifHost.Deadline(60, cancellationToken))
        {
            await Xenbus.WaitForStateAsync(store, device.BackendPath, s => s is XenbusState.InitWait or XenbusState.Initialised or XenbusState.Connected, deadline.Token).ConfigureAwait(false);
            front = await BlkifXenbus.ConnectFrontendAsync(store, device, domain.Events, domain.Memory, cancellationToken: deadline.Token).ConfigureAwait(false);
        }
        await using (front.ConfigureAwait(false))
        {
            Say("connected");
            try
            {
                // What every earlier frontend left, read back before anything is written.
                var chunk = GC.AllocateUninitializedArray<byte>(16 * BlockSize, pinned: true);
                for (var first = 0; first < Blocks; first += 16)
                {
                    await front.ReadAsync((long)first * BlockSize, chunk, cancellationToken).ConfigureAwait(false);
                    for (var b = first; b < first + 16; b++)
                        Say($"blk-read {N(b)} {N(ReadVersion(chunk.AsSpan((b - first) * BlockSize, BlockSize), b))}");
                }
                Say("verified");
                if (Environment.GetEnvironmentVariable(VerifyOnlyVariable) == "1")
                {
                    await BlkifXenbus.CloseFrontendAsync(store, device, front, TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
                    return 0;
                }
                Say("ready");
                var counter = 0L;
                var marker = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
                var version = BlockVersion(generation, ++counter);
                FillBlock(marker, 0, version);
                Say($"blk-issue 0 {N(version)}");
                // The fault: acknowledge the marker without writing it.
                if (!fault)
                    await front.WriteAsync(0, marker, cancellationToken).ConfigureAwait(false);
                Say($"blk-acknowledged 0 {N(version)}");
                // Four writers on distinct blocks at once; a flush now and then.
                var random = new Random(generation);
                var busy = new bool[Blocks];
                var lanes = Enumerable.Range(0, 4).Select(lane => Task.Run(async () =>
                {
                    var block = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
                    for (var n = 0; ; n++)
                    {
                        int number;
                        long v;
                        lock (busy)
                        {
                            do
                                number = random.Next(1, Blocks);
                            while (busy[number]);
                            busy[number] = true;
                            v = BlockVersion(generation, ++counter);
                        }
                        FillBlock(block, number, v);
                        Say($"blk-issue {N(number)} {N(v)}");
                        await front.WriteAsync((long)number * BlockSize, block, cancellationToken).ConfigureAwait(false);
                        Say($"blk-acknowledged {N(number)} {N(v)}");
                        lock (busy)
                            busy[number] = false;
                        if (n % 64 == 63)
                            await front.FlushAsync(cancellationToken).ConfigureAwait(false);
                        await Task.Delay(2, cancellationToken).ConfigureAwait(false);
                    }
                }, CancellationToken.None)).ToArray();
                await Task.WhenAny(lanes).Unwrap().ConfigureAwait(false);
            }
            catch (Exception e) when (e is BlkifIOException or IOException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
            {
            }
            cancellationToken.ThrowIfCancellationRequested();
            Say("noticed blkback");
            return 0;
        }
    }

    // ---- Xenstore: numbered writes to /soak/<key>, acknowledged by the daemon's reply. ----

    public const int Keys = 64;

    public static string KeyPath(int key) => "/soak/k" + N(key);

    private static async Task<int> XenstoreAsync(int generation, bool fault, CancellationToken cancellationToken)
    {
        var socket = Environment.GetEnvironmentVariable(DaemonVariable) ?? throw new InvalidOperationException(DaemonVariable + " is not set.");
        await using var client = await XenstoreClient.ConnectAsync(socket, cancellationToken).ConfigureAwait(false);
        Say("ready");
        var random = new Random(generation);
        var counter = 0L;
        try
        {
            for (var n = 0; ; n++)
            {
                // Key 0 is the marker, written once per client.
                var key = n == 0 ? 0 : random.Next(1, Keys);
                var version = BlockVersion(generation, ++counter);
                Say($"xs-issue {N(key)} {N(version)}");
                // The fault: acknowledge the marker without writing it.
                if (!(fault && key == 0))
                    await client.WriteAsync(KeyPath(key), N(version), cancellationToken).ConfigureAwait(false);
                Say($"xs-acknowledged {N(key)} {N(version)}");
                await Task.Delay(2, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or XenstoreException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
        {
        }
        cancellationToken.ThrowIfCancellationRequested();
        Say("noticed xenstored");
        return 0;
    }
}
