using SharedMemoryRing;
using TestSupport;
using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;

namespace Fbif.Tests;

/// <summary>
/// A frontend that lies in its page, its directory or its ring: each lie is refused at connection or
/// ends the connection with a clear error, and nothing outside what it owns is mapped or read.
/// </summary>
public sealed class HostileFrontendTests : IDisposable
{
    private const uint MiB = 1 << 20;
    private readonly InHeapPair _pair = new();

    public void Dispose() => _pair.Dispose();

    private Fbback<InHeapEvents, InHeapFrames> Backend(int videoRamMiB = 2) =>
        new(_pair.Back.Events, _pair.Back.Frames, new FbbackOptions { VideoRamMiB = videoRamMiB });

    [Theory]
    [InlineData(0UL)]
    [InlineData(999_999UL)]
    public async Task A_page_directory_entry_that_is_not_the_frontends_memory_is_refused(ulong frame)
    {
        using var front = new RawFrontend(_pair.Front, 64, 48, 256, 32, 2 * MiB);
        front.PageDirectory[0] = frame;
        await using var back = Backend();
        var e = Assert.Throws<FrameException>(() => back.Connect(InHeapPair.FrontendDomain, front.Info));
        Assert.Contains($"Frame {frame}", e.Message);
    }

    [Fact]
    public async Task A_framebuffer_frame_in_the_directory_that_is_not_the_frontends_memory_is_refused()
    {
        using var front = new RawFrontend(_pair.Front, 64, 48, 256, 32, 2 * MiB);
        front.DirectoryEntries[100] = 1UL << 40;
        await using var back = Backend();
        var e = Assert.Throws<FrameException>(() => back.Connect(InHeapPair.FrontendDomain, front.Info));
        Assert.Contains($"Frame {1UL << 40}", e.Message);
    }

    [Fact]
    public async Task A_mem_length_past_videoram_is_refused()
    {
        using var front = new RawFrontend(_pair.Front, 64, 48, 256, 32, 3 * MiB);
        await using var back = Backend(videoRamMiB: 2);
        var e = Assert.Throws<InvalidDataException>(() => back.Connect(InHeapPair.FrontendDomain, front.Info));
        Assert.Contains("videoram", e.Message);
    }

    [Theory]
    [InlineData(1024, 1024, 4096, 32)] // 4 MiB of rows in 2 MiB
    [InlineData(64, 48, 100, 32)]      // rows shorter than their pixels
    [InlineData(64, 48, 256, 12)]      // no such depth
    [InlineData(0, 48, 256, 32)]       // no pixels
    [InlineData(64, -1, 256, 32)]
    public async Task Dimensions_that_do_not_fit_are_refused(int width, int height, int lineLength, int depth)
    {
        using var front = new RawFrontend(_pair.Front, width, height, lineLength, depth, 2 * MiB);
        await using var back = Backend();
        Assert.Throws<InvalidDataException>(() => back.Connect(InHeapPair.FrontendDomain, front.Info));
    }

    [Fact]
    public async Task A_resize_past_the_framebuffer_ends_the_connection()
    {
        using var front = new RawFrontend(_pair.Front, 64, 48, 256, 32, 2 * MiB);
        await using var back = Backend();
        back.Connect(InHeapPair.FrontendDomain, front.Info);
        var evt = new byte[40];
        new FbifResize(4096, 4096, 16384, 32, 0).Write(evt);
        front.Post(evt, 0);
        front.Kick();
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => back.Completion.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("pass the framebuffer", e.Message);
        Assert.Equal(new FramebufferGeometry(64, 48, 256, 32), back.Geometry);
    }

    [Fact]
    public async Task An_update_outside_the_screen_is_clipped()
    {
        using var front = new RawFrontend(_pair.Front, 64, 48, 256, 32, 2 * MiB);
        await using var back = Backend();
        var damaged = new TaskCompletionSource<FramebufferRect>(TaskCreationOptions.RunContinuationsAsynchronously);
        back.Damaged += r => damaged.TrySetResult(r);
        back.Connect(InHeapPair.FrontendDomain, front.Info);
        var evt = new byte[40];
        new FbifUpdate(60, -5, int.MaxValue, 10).Write(evt);
        front.Post(evt, 0);
        front.Kick();
        Assert.Equal(new FramebufferRect(60, 0, 4, 5), await damaged.Task.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_producer_index_outside_the_ring_ends_the_connection()
    {
        using var front = new RawFrontend(_pair.Front, 64, 48, 256, 32, 2 * MiB);
        await using var back = Backend();
        back.Connect(InHeapPair.FrontendDomain, front.Info);
        front.SetOutProd(1000);
        front.Kick();
        await Assert.ThrowsAsync<RingProtocolException>(() => back.Completion.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_flood_of_updates_is_merged_into_one_damage_per_batch()
    {
        using var front = new RawFrontend(_pair.Front, 64, 48, 256, 32, 2 * MiB);
        await using var back = Backend();
        back.Connect(InHeapPair.FrontendDomain, front.Info);
        var evt = new byte[40];
        const int Updates = 5000;
        for (uint i = 0; i < Updates; i++)
        {
            // The producer waits for room as a real one must: out_cons shows what the backend took.
            while (i - front.OutCons >= 51)
            {
                front.Kick();
                await Task.Yield();
            }
            new FbifUpdate((int)(i % 64), 0, 1, 1).Write(evt);
            front.Post(evt, i);
        }
        front.Kick();
        await Until.TrueAsync(() => back.UpdateEvents == Updates, "every update consumed");
        // A batch holds up to a ring's worth (51): at least 5000 / 51 batches, and far fewer than 5000.
        Assert.InRange(back.DamageBatches, 1, Updates / 5);
    }
}
