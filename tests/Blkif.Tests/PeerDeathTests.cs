using System.Diagnostics;
using Blkif.Storage;
using TestSupport;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;
using Xen.Store;
using Xunit.Abstractions;

namespace Blkif.Tests;

/// <summary>
/// <c>kill -9</c> of one end, with the other end in this process over the Unix backends with Xen's
/// event semantics (<see cref="XenLikeEvents{TEvents}"/>): a dead peer's channel goes quiet, so the
/// survivor learns only from the unmap notification on the ring's pages, as under a real Xen.
/// </summary>
[Trait("Category", "CrossProcess")]
public sealed class PeerDeathTests(ITestOutputHelper output)
{
    private const ushort BackendDomain = 1;
    private const ushort FrontendDomain = 2;
    // Measured from the kill. The ring's live byte answers in milliseconds; a backend then unmaps
    // every page it holds, which the Unix backend does slowly for a dead domain (each release looks
    // at what is left of the dead folder): hundreds of persistent grants take a few seconds.
    private static readonly TimeSpan NoticeBound = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ReleaseBound = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_blkback_notices_a_killed_blkfront_process_and_releases_its_pages()
    {
        await using var host = await BlkifProcesses.StartAsync();
        var image = Path.Combine(host.Images, "disk.img");
        using (var file = File.Create(image))
            file.SetLength(256 << 20);
        using var events = Events(host, BackendDomain);
        using var memory = Memory(host, BackendDomain, events);
        await using var store = await XenstoreClient.ConnectAsync(host.Socket);
        var device = new XenbusDevice(BlkifXenbus.DeviceType, 51712, FrontendDomain, BackendDomain);
        await CreateDeviceAsync(store, device);
        using var storage = RawImageStorage.Open(image, readOnly: false);
        var back = new Blkback<XenLikeEvents<UnixEvents>, UnixMemory>(events, memory, storage);
        var connect = BlkifXenbus.ConnectBackendAsync(store, device, back);
        using var front = host.Blkfront(true, "--device", "51712", "--copy-in", "-");
        await connect.WaitAsync(TimeSpan.FromSeconds(60));
        var serve = BlkifXenbus.ServeBackendAsync(store, device, back);

        // Keep the frontend writing, and kill it while it does.
        var stdin = front.Process.StandardInput.BaseStream;
        var chunk = TestData.Pattern(1 << 20, 5);
        var feeder = Task.Run(async () =>
        {
            try
            {
                while (true)
                    await stdin.WriteAsync(chunk);
            }
            catch (IOException)
            {
            }
        });
        while (!StartsWith(image, chunk.AsSpan(0, 4096)))
        {
            Assert.False(serve.IsCompleted, "The backend stopped before the frontend wrote. " + front.Stderr);
            await Task.Delay(20);
        }
        front.Process.Kill();
        var clock = Stopwatch.StartNew();
        var polite = await serve.WaitAsync(ReleaseBound);
        output.WriteLine($"the backend let go and unmapped everything {clock.Elapsed.TotalMilliseconds:F0} ms after the kill");

        Assert.False(polite);
        Assert.Equal(0, GrantedPages(host, FrontendDomain));
        Assert.Equal(XenbusState.Closed, await Xenbus.ReadStateAsync(store, device.BackendPath));
        await feeder.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_blkfront_fails_its_pending_reads_when_the_blkback_process_is_killed()
    {
        await using var host = await BlkifProcesses.StartAsync();
        var image = Path.Combine(host.Images, "disk.img");
        using (var file = File.Create(image))
            file.SetLength(256 << 20);
        using var back = host.Blkback(image, "--device", "51712");
        await back.WaitForLineAsync("serving", TimeSpan.FromSeconds(60));
        using var events = Events(host, FrontendDomain);
        using var memory = Memory(host, FrontendDomain, events);
        await using var store = await XenstoreClient.ConnectAsync(host.Socket);
        await store.ActAsDomainAsync(FrontendDomain);
        var device = new XenbusDevice(BlkifXenbus.DeviceType, 51712, FrontendDomain, BackendDomain);
        await using var front = await BlkifXenbus.ConnectFrontendAsync(store, device, events, memory)
            .WaitAsync(TimeSpan.FromSeconds(60));

        // Reads in a loop, several in flight, until the device fails.
        long reads = 0;
        var readers = Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
        {
            var buffer = new byte[64 << 10];
            for (var at = (long)i * buffer.Length; ; at = (at + 4 * buffer.Length) % front.Length)
            {
                await front.ReadAsync(at, buffer);
                Interlocked.Increment(ref reads);
            }
        })).ToArray();
        while (Interlocked.Read(ref reads) < 200)
        {
            Assert.DoesNotContain(readers, r => r.IsCompleted);
            await Task.Delay(10);
        }
        back.Process.Kill();
        var clock = Stopwatch.StartNew();
        var failed = await Task.WhenAll(readers.Select(r => Assert.ThrowsAsync<BlkifIOException>(() => r))).WaitAsync(NoticeBound);
        output.WriteLine($"the reads failed {clock.Elapsed.TotalMilliseconds:F0} ms after the kill: {failed[0].Message}");
        Assert.All(failed, e => Assert.Contains("backend", e.Message, StringComparison.Ordinal));
    }

    private static XenLikeEvents<UnixEvents> Events(BlkifProcesses host, ushort domain) =>
        new(new UnixEvents(new UnixEventsOptions { Domain = domain, Root = host.Root }));

    private static UnixMemory Memory(BlkifProcesses host, ushort domain, XenLikeEvents<UnixEvents> events) =>
        new(new UnixMemoryOptions { Domain = domain, Root = host.Root }, events.SendOnPort());

    // The toolstack's step: both domains' homes, owned by each, and the device.
    private static async Task CreateDeviceAsync(XenstoreClient dom0, XenbusDevice device)
    {
        foreach (var d in new[] { device.BackendDomain, device.FrontendDomain })
        {
            await dom0.MkdirAsync(XsWire.DomainPath(d));
            await dom0.SetPermissionsAsync(XsWire.DomainPath(d), XsPermissions.Create(d));
        }
        await Xenbus.CreateDeviceAsync(dom0, device);
    }

    private static bool StartsWith(string path, ReadOnlySpan<byte> expected)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var head = new byte[expected.Length];
        return file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length && expected.SequenceEqual(head);
    }

    private static int GrantedPages(BlkifProcesses host, ushort domain)
    {
        var folder = Path.Combine(host.Root, domain.ToString(System.Globalization.CultureInfo.InvariantCulture), "gnt");
        return Directory.Exists(folder) ? Directory.GetFiles(folder).Count(f => !f.EndsWith(".grant", StringComparison.Ordinal)) : 0;
    }
}
