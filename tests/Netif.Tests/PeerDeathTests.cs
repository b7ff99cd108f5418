using System.Diagnostics;
using Netif.Links;
using TestSupport;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;
using Xen.Store;

namespace Netif.Tests;

/// <summary>
/// <c>kill -9</c> of one end, with the other end in this process over the Unix backends with Xen's
/// event semantics (<see cref="XenLikeEvents{TEvents}"/>): a dead peer's channel goes quiet, so the
/// survivor learns only from the unmap notifications on the rings' pages, as under a real Xen.
/// </summary>
[Collection(nameof(Alone))]
public sealed class PeerDeathTests
{
    // Measured from the kill; the rings' live bytes answer in milliseconds. Unmapping a dead domain's
    // pages is slower over the Unix backend (each release looks at what is left of the dead folder).
    private static readonly TimeSpan NoticeBound = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ReleaseBound = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_netback_notices_a_killed_netfront_process_releases_its_pages_and_serves_the_next()
    {
        await using var scene = await Scene.StartAsync();
        using var events = new XenLikeEvents<UnixEvents>(new UnixEvents(new UnixEventsOptions { Domain = 0, Root = scene.XenRoot }));
        using var memory = new UnixMemory(new UnixMemoryOptions { Domain = 0, Root = scene.XenRoot }, events.SendOnPort());
        await using var store = await XenstoreClient.ConnectAsync(scene.Socket);
        var device = new XenbusDevice(NetifXenstore.DeviceType, 0, 1, 0);
        await Xenbus.CreateDeviceAsync(store, device);
        await store.WriteAsync(device.FrontendPath + "/mac", "00:16:3e:00:00:01");
        using var link = NetworkLink.CreateLoopback();
        var netback = new NetbackDevice<XenLikeEvents<UnixEvents>, UnixMemory>(store, device, events, memory, link);
        var connected = 0;
        var ended = new List<NetifStatistics>();
        netback.Connected += (_, _) => Interlocked.Increment(ref connected);
        netback.Disconnected += (_, n) =>
        {
            lock (ended)
                ended.Add(n.Statistics);
        };
        using var stop = new CancellationTokenSource();
        var run = netback.RunAsync(stop.Token);

        await using (var netfront = scene.Start("netfront --send 100000000 --size 60-1500"))
        {
            await WaitUntilAsync(() => netback.Current is { } c && c.Statistics.TxFrames > 1000, "frames flowing", netfront);
            netfront.Kill();
            var clock = Stopwatch.StartNew();
            await WaitUntilAsync(() => netback.Current is null, "the netback to let go of the dead frontend and unmap its pages", netfront, ReleaseBound);
            var noticed = clock.Elapsed;
            // The dead frontend's granted pages went with the backend's last mapping of them.
            await WaitUntilAsync(() => GrantedPages(scene, 1) == 0, "the frontend's pages to be released", netfront, ReleaseBound, () => Leftovers(scene, 1));
            Assert.True(noticed < ReleaseBound, $"let go after {noticed.TotalMilliseconds:F0} ms");
            // The end was reported once, with the dead connection's counters still readable. The device
            // reports it just after it stops naming the connection current (and the pages may have gone
            // before either), so the report is waited for, not expected at once.
            await WaitUntilAsync(() => { lock (ended) return ended.Count > 0; }, "the end to be reported", netfront, NoticeBound);
            lock (ended)
                Assert.True(ended is [{ TxFrames: > 1000 }], $"{ended.Count} ends reported");
        }

        // The loopback link still holds frames the dead frontend sent: the next one only has to connect.
        await using var second = scene.Start("netfront");
        await second.WaitForAsync("netfront: connected");
        await WaitUntilAsync(() => netback.Connections == 2, "the netback to serve the next frontend", second);
        Assert.Equal(2, Volatile.Read(ref connected));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        lock (ended)
            Assert.Equal(2, ended.Count);
    }

    [Fact]
    public async Task A_netfront_notices_a_killed_netback_process_at_once_and_reconnects_to_the_next()
    {
        await using var scene = await Scene.StartAsync();
        await using var first = scene.Start("netback --loopback");
        await first.WaitForAsync("netback: serving");
        using var events = new XenLikeEvents<UnixEvents>(new UnixEvents(new UnixEventsOptions { Domain = 1, Root = scene.XenRoot }));
        using var memory = new UnixMemory(new UnixMemoryOptions { Domain = 1, Root = scene.XenRoot }, events.SendOnPort());
        await using var store = await XenstoreClient.ConnectAsync(scene.Socket);
        await store.ActAsDomainAsync(1);
        var device = new XenbusDevice(NetifXenstore.DeviceType, 0, 1, 0);
        var netfront = new NetfrontDevice<XenLikeEvents<UnixEvents>, UnixMemory>(store, device, events, memory);
        long killedAt = 0, endedAt = 0;
        var frames = 0L;
        var sessions = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var run = netfront.RunAsync(async (nf, token) =>
        {
            // A transfer: send a frame, wait for it to come back, again and again.
            var queue = nf.Queues[0];
            var frame = new byte[1000];
            var buffer = new byte[Frames.MaxFrame];
            if (++sessions == 2)
                return; // the second backend served us: done
            try
            {
                while (true)
                {
                    await queue.SendAsync(frame, cancellationToken: token);
                    await queue.ReceiveAsync(buffer, token);
                    Interlocked.Increment(ref frames);
                }
            }
            finally
            {
                endedAt = Stopwatch.GetTimestamp();
            }
        }, stop.Token);

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (Interlocked.Read(ref frames) < 1000)
        {
            Assert.True(DateTime.UtcNow < deadline && !run.IsCompleted, "No frames flowed. " + first.Output);
            await Task.Delay(20);
        }
        killedAt = Stopwatch.GetTimestamp();
        first.Kill();
        deadline = DateTime.UtcNow.Add(NoticeBound);
        while (Volatile.Read(ref endedAt) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"The netfront's transfer still waits {NoticeBound.TotalSeconds} s after the netback was killed.");
            await Task.Delay(10);
        }
        var noticed = Stopwatch.GetElapsedTime(killedAt, endedAt);
        Assert.True(noticed < NoticeBound, $"noticed after {noticed.TotalMilliseconds:F0} ms");

        await using var second = scene.Start("netback --loopback");
        await run;
        Assert.Equal(2, netfront.Connections);
    }

    private static int GrantedPages(Scene scene, int domain)
    {
        var folder = Path.Combine(scene.XenRoot, domain.ToString(System.Globalization.CultureInfo.InvariantCulture), "gnt");
        return Directory.Exists(folder) ? Directory.GetFiles(folder).Count(f => !f.EndsWith(".grant", StringComparison.Ordinal)) : 0;
    }

    /// <summary>What is left of a domain's folder, and the file locks held on the machine: who still holds what.</summary>
    private static string Leftovers(Scene scene, int domain)
    {
        var folder = Path.Combine(scene.XenRoot, domain.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var files = Directory.Exists(folder) ? Directory.GetFiles(folder, "*", SearchOption.AllDirectories) : [];
        var locks = File.Exists("/proc/locks") ? File.ReadAllLines("/proc/locks").Take(64) : [];
        return $"Left in {folder}:\n{string.Join('\n', files.Take(32))}\n/proc/locks:\n{string.Join('\n', locks)}";
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, MirageProcess peer, TimeSpan? bound = null, Func<string>? state = null)
    {
        var deadline = DateTime.UtcNow + (bound ?? TimeSpan.FromSeconds(60));
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Waited for {what}. Peer output:\n{peer.Output}\n{state?.Invoke()}");
            await Task.Delay(10);
        }
    }
}
