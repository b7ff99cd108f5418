using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Netif;
using Netif.Ipv4;
using Netif.Links;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Mirage.Cli.Commands;

/// <summary>
/// <c>mirage netfront</c>: a Xen network frontend that finds its backend through Xenstore and
/// reconnects when the backend restarts. With <c>--ip</c> it answers ARP and ICMP echo, so Linux's
/// <c>ping</c> can reach it through a netback on a TAP; with <c>--tap</c> it passes frames to and from a
/// TAP interface, so this host's own network stack is the frontend's end (TCP through the device); with
/// <c>--send</c> it sends checksummed frames through a loopback netback and checks each one that comes back.
/// </summary>
internal static class NetfrontCommand
{
    public static Command Create()
    {
        var backend = new DomainOptions(unixDefault: 1);
        var backendDomain = new Option<ushort>("--backend-domain") { Description = "The backend's domain.", DefaultValueFactory = _ => 0 };
        var device = new Option<uint>("--device") { Description = "The vif number.", DefaultValueFactory = _ => 0 };
        var ip = new Option<string?>("--ip") { Description = "Answer ARP and ICMP echo for this IPv4 address, e.g. 10.0.0.2/24." };
        var tap = new Option<string?>("--tap") { Description = "Pass frames between the netfront and this TAP interface (created if missing; needs CAP_NET_ADMIN), so that this host's network stack talks through the backend: give the interface the netfront's MAC and an address." };
        var queues = new Option<int>("--queues") { Description = "Queues wanted (the backend may offer fewer).", DefaultValueFactory = _ => 1 };
        var send = new Option<int>("--send") { Description = "Send this many checksummed frames through a --loopback netback, check each as it returns, print frames per second, and exit (1 if any frame was lost or changed)." };
        var size = new Option<string>("--size") { Description = "With --send: the frame size in bytes, or a range min-max for random sizes.", DefaultValueFactory = _ => "1500" };
        var command = new Command("netfront", "Run a Xen network frontend. " + DomainOptions.XenstoreHelp)
        {
            backendDomain, device, ip, tap, queues, send, size,
        };
        backend.AddTo(command);
        command.Validators.Add(r =>
        {
            if (r.GetValue(ip) is { } text && !TryParseAddress(text, out _))
                r.AddError($"--ip {text} is not an IPv4 address (10.0.0.2 or 10.0.0.2/24).");
            if (r.GetValue(size) is { } s && !TryParseSize(s, out _, out _))
                r.AddError("--size is a size of 14 to 65535 bytes, or a range such as 60-9000.");
            if (r.GetValue(send) < 0)
                r.AddError("--send is a number of frames.");
            if ((r.GetValue(ip) is not null ? 1 : 0) + (r.GetValue(tap) is not null ? 1 : 0) + (r.GetValue(send) > 0 ? 1 : 0) > 1)
                r.AddError("--ip, --tap and --send are different uses of the netfront: give one.");
            if (r.GetValue(tap) is { } name && (name.Length is 0 or > 15 || name.Contains('/', StringComparison.Ordinal)))
                r.AddError($"--tap {name} is not an interface name (1 to 15 characters, no '/').");
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            IPAddress? address = null;
            if (parse.GetValue(ip) is { } text)
                TryParseAddress(text, out address);
            TryParseSize(parse.GetValue(size)!, out var min, out var max);
            using var stop = StopSignals.Link(cancellationToken);
            var program = new Program(parse.GetValue(backendDomain), parse.GetValue(device), address, parse.GetValue(tap), parse.GetValue(queues), parse.GetValue(send), min, max);
            try
            {
                return await backend.RunAsync(parse, program, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return 0;
            }
            catch (Exception e) when (DomainOptions.Explains(e))
            {
                Console.Error.WriteLine($"netfront: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static bool TryParseAddress(string text, out IPAddress address)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        address = IPAddress.None;
        var prefixOk = slash < 0 || (int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) && prefix <= 32);
        var host = slash < 0 ? text : text[..slash];
        // Four dotted numbers: IPAddress alone also takes "10.0.0" or "10".
        return host.Split('.').Length == 4 && IPAddress.TryParse(host, out address!)
            && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && prefixOk;
    }

    private static bool TryParseSize(string text, out int min, out int max)
    {
        var parts = text.Split('-');
        min = max = 0;
        var ok = parts.Length is 1 or 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out min)
            && int.TryParse(parts[^1], NumberStyles.None, CultureInfo.InvariantCulture, out max);
        return ok && min >= TrafficFrames.Header && min <= max && max <= 65535;
    }

    private sealed class Program(ushort backendDomain, uint deviceId, IPAddress? address, string? tapName, int queues, int send, int minSize, int maxSize) : IDomainProgram
    {
        public async Task<int> RunAsync<TEvents, TMemory>(DomainSession<TEvents, TMemory> domain, CancellationToken cancellationToken)
            where TEvents : IEvents
            where TMemory : IMemory
        {
            var (events, memory, store) = (domain.Events, domain.Memory, domain.Store);
            var device = new XenbusDevice(NetifXenstore.DeviceType, deviceId, memory.LocalDomain, backendDomain);
            var frontend = new NetfrontDevice<TEvents, TMemory>(store, device, events, memory, new NetfrontOptions { Queues = send > 0 ? 1 : queues, Name = $"vif{deviceId}" });
            Console.Error.WriteLine($"netfront: {device.FrontendPath}, waiting for the backend at {device.BackendPath}");
            var result = 0;
            // The interface outlives the connections, so that its addresses and routes survive a backend restart.
            using var tap = tapName is null ? null : TapLink.Open(tapName);
            await frontend.RunAsync(async (netfront, token) =>
            {
                Console.Error.WriteLine($"netfront: connected, mac {NetifXenstore.FormatMac(netfront.Mac)}, mtu {netfront.Mtu}, {netfront.Queues.Count} queue(s)"
                    + (address is null ? "" : $", answering ARP and ping for {address}") + (tap is null ? "" : $", frames to and from {tap.Name}"));
                if (tap is not null)
                {
                    // The kernel's frames go out on the first queue, so that a flow stays in order; they come in on any.
                    var fromTap = Task.Run(() => TapFrames.SendAsync(tap, netfront.Queues[0], token), CancellationToken.None);
                    await Task.WhenAll(netfront.Queues.Select(q => Task.Run(() => TapFrames.ReceiveAsync(q, tap, token), CancellationToken.None)).Append(fromTap)).ConfigureAwait(false);
                    return;
                }
                if (send > 0)
                {
                    result = await TrafficFrames.RunAsync(netfront.Queues[0], send, minSize, maxSize, token).ConfigureAwait(false);
                    return; // done: close
                }
                if (address is null)
                {
                    await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
                    return;
                }
                var responder = new Ipv4Responder(netfront.Mac, address);
                await Task.WhenAll(netfront.Queues.Select(q => Task.Run(() => AnswerAsync(q, responder, token), CancellationToken.None))).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            return result;
        }

        private static async Task AnswerAsync(NetfrontQueue queue, Ipv4Responder responder, CancellationToken cancellationToken)
        {
            var buffer = new byte[Math.Max(queue.MaxFrame, Frames.MaxFrame)];
            var reply = new byte[buffer.Length];
            while (true)
            {
                var frame = await queue.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
                int n;
                lock (responder)
                    n = responder.TryAnswer(buffer.AsSpan(0, frame.Length), reply);
                if (n > 0)
                    await queue.SendAsync(reply.AsMemory(0, n), cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
    }
}

/// <summary>
/// Frames between a netfront and a TAP interface: what the kernel sends goes out on the ring, what
/// the backend sends goes to the kernel, with the checksum and GSO offloads the ring flags carry.
/// </summary>
internal static class TapFrames
{
    public static async Task SendAsync(TapLink tap, NetfrontQueue queue, CancellationToken cancellationToken)
    {
        var buffer = new byte[Frames.MaxFrame];
        while (await tap.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var batch = 0;
            while (tap.TryRead(buffer, out var frame))
            {
                if (frame.Length > queue.MaxFrame && !frame.Offload.IsGso)
                {
                    // The interface's MTU is above the backend's: the kernel learns nothing from a silent drop, so say it once.
                    WarnTooLong(tap, frame.Length, queue.MaxFrame);
                    continue;
                }
                while (!queue.TrySend(buffer.AsSpan(0, frame.Length), frame.Offload))
                {
                    queue.Flush();
                    await queue.WaitToSendAsync(cancellationToken).ConfigureAwait(false);
                }
                if (++batch % 32 == 0)
                    queue.Flush();
            }
            queue.Flush();
        }
    }

    public static async Task ReceiveAsync(NetfrontQueue queue, TapLink tap, CancellationToken cancellationToken)
    {
        // A GSO frame from the backend may be as large as the protocol allows, whatever the MTU.
        var buffer = new byte[Frames.MaxFrame];
        while (true)
        {
            var frame = await queue.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
            tap.TryWrite(buffer.AsSpan(0, frame.Length), frame.Offload);
        }
    }

    private static int _warned;

    private static void WarnTooLong(TapLink tap, int length, int max)
    {
        if (Interlocked.Exchange(ref _warned, 1) == 0)
            Console.Error.WriteLine($"netfront: dropping a {length}-byte frame from {tap.Name}: the backend takes at most {max} bytes; lower {tap.Name}'s MTU.");
    }
}

/// <summary>
/// Checked traffic: frames of random content whose first bytes hold a sequence number and a
/// checksum of the rest, sent through a loopback netback and checked in order as they come back.
/// </summary>
internal static class TrafficFrames
{
    /// <summary>Sequence number (4 bytes) and checksum (8 bytes).</summary>
    public const int Header = 12;

    public static async Task<int> RunAsync(NetfrontQueue queue, int count, int minSize, int maxSize, CancellationToken cancellationToken)
    {
        if (maxSize > queue.MaxFrame)
        {
            Console.Error.WriteLine($"netfront: --size {maxSize} is more than this link's {queue.MaxFrame}-byte frames (raise the backend's --mtu).");
            return 2;
        }
        var clock = Stopwatch.StartNew();
        var receiving = Task.Run(() => ReceiveAsync(queue, count, minSize, maxSize, cancellationToken), CancellationToken.None);
        await Task.Run(() => SendAsync(queue, count, minSize, maxSize, cancellationToken), CancellationToken.None).ConfigureAwait(false);
        var (good, bad) = await receiving.ConfigureAwait(false);
        clock.Stop();
        var rate = good / clock.Elapsed.TotalSeconds;
        var sizes = minSize == maxSize ? $"{minSize}-byte" : $"{minSize}-{maxSize}-byte";
        Console.WriteLine($"netfront: {good:N0} of {count:N0} {sizes} frames came back intact ({bad:N0} bad) in {clock.Elapsed.TotalMilliseconds:N0} ms: {rate:N0} frames/s each way");
        return good == count && bad == 0 ? 0 : 1;
    }

    private static async Task SendAsync(NetfrontQueue queue, int count, int minSize, int maxSize, CancellationToken cancellationToken)
    {
        var sizes = new Random(1);
        var noise = Noise(maxSize);
        var frame = new byte[maxSize];
        for (var seq = 0; seq < count;)
        {
            var length = sizes.Next(minSize, maxSize + 1);
            Fill(frame.AsSpan(0, length), seq, noise);
            while (!queue.TrySend(frame.AsSpan(0, length)))
            {
                queue.Flush();
                await queue.WaitToSendAsync(cancellationToken).ConfigureAwait(false);
            }
            seq++;
            if ((seq & 31) == 0)
                queue.Flush();
        }
        queue.Flush();
    }

    private static async Task<(int Good, int Bad)> ReceiveAsync(NetfrontQueue queue, int count, int minSize, int maxSize, CancellationToken cancellationToken)
    {
        var sizes = new Random(1);
        var buffer = new byte[queue.MaxFrame];
        int good = 0, bad = 0;
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        while (good + bad < count)
        {
            idle.CancelAfter(TimeSpan.FromSeconds(10));
            try
            {
                await queue.WaitToReceiveAsync(idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Console.Error.WriteLine($"netfront: nothing came back for 10 s after {good + bad:N0} frames.");
                break;
            }
            while (good + bad < count && queue.TryReceive(buffer, out var frame))
            {
                var expected = sizes.Next(minSize, maxSize + 1);
                if (frame.Length == expected && Check(buffer.AsSpan(0, frame.Length), good + bad))
                    good++;
                else
                    bad++;
            }
        }
        return (good, bad);
    }

    private static byte[] Noise(int size)
    {
        var noise = new byte[size + 4096];
        new Random(2).NextBytes(noise);
        return noise;
    }

    private static void Fill(Span<byte> frame, int seq, byte[] noise)
    {
        noise.AsSpan(seq * 61 % 4096, frame.Length - Header).CopyTo(frame[Header..]);
        BitConverter.TryWriteBytes(frame, seq);
        BitConverter.TryWriteBytes(frame[4..], Checksum(frame[Header..]));
    }

    private static bool Check(ReadOnlySpan<byte> frame, int seq) =>
        BitConverter.ToInt32(frame) == seq && BitConverter.ToUInt64(frame[4..]) == Checksum(frame[Header..]);

    // FNV-1a over 8-byte words, then the tail: any changed, lost or moved byte changes it (almost surely).
    private static ulong Checksum(ReadOnlySpan<byte> data)
    {
        var hash = 14695981039346656037UL;
        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(data);
        foreach (var w in words)
            hash = (hash ^ w) * 1099511628211UL;
        foreach (var b in data[(words.Length * 8)..])
            hash = (hash ^ b) * 1099511628211UL;
        return hash ^ (ulong)data.Length;
    }
}
