using TestSupport;
using System.Buffers.Binary;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;

namespace Fbif.Tests;

/// <summary>Fbfront and fbback on the in-heap backend, without Xenstore: the pages, the events, the pixels.</summary>
public sealed class FbifTests : IAsyncLifetime
{
    private readonly InHeapPair _pair = new();
    private Fbback<InHeapEvents, InHeapFrames> _back = null!;
    private Fbfront<InHeapEvents, InHeapFrames> _front = null!;

    public Task InitializeAsync()
    {
        _back = new Fbback<InHeapEvents, InHeapFrames>(_pair.Back.Events, _pair.Back.Frames, new FbbackOptions { VideoRamMiB = 2, Width = 64, Height = 48 });
        _front = Fbfront<InHeapEvents, InHeapFrames>.Allocate(_pair.Front.Events, _pair.Front.Frames, InHeapPair.BackendDomain, _back.Info);
        _back.Connect(InHeapPair.FrontendDomain, _front.Info);
        _front.Attach(_back.Info);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _back.DisposeAsync();
        await _front.DisposeAsync();
        _pair.Dispose();
    }

    [Fact]
    public void The_backend_reads_the_mode_the_frontend_wrote()
    {
        Assert.Equal(new FramebufferGeometry(64, 48, 256, 32), _back.Geometry);
        Assert.Equal(2 << 20, _back.MemLength);
    }

    [Fact]
    public async Task An_update_reaches_the_backend_with_its_pixels()
    {
        var damaged = new TaskCompletionSource<FramebufferRect>(TaskCreationOptions.RunContinuationsAsynchronously);
        _back.Damaged += r => damaged.TrySetResult(r);
        var stride = _front.Geometry.LineLength;
        BinaryPrimitives.WriteUInt32LittleEndian(_front.Pixels[(5 * stride + 3 * 4)..], 0x00FF8040);
        Assert.True(_front.Update(new FramebufferRect(3, 5, 1, 1)));
        Assert.Equal(new FramebufferRect(3, 5, 1, 1), await damaged.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        var pixel = new byte[4];
        Assert.Equal(new FramebufferRect(3, 5, 1, 1), _back.CopyPixels(new FramebufferRect(3, 5, 1, 1), pixel));
        Assert.Equal(0x00FF8040u, BinaryPrimitives.ReadUInt32LittleEndian(pixel));
    }

    [Fact]
    public async Task A_resize_reaches_the_backend()
    {
        var resized = new TaskCompletionSource<FramebufferGeometry>(TaskCreationOptions.RunContinuationsAsynchronously);
        _back.Resized += g => resized.TrySetResult(g);
        _front.Resize(32, 16);
        Assert.Equal(new FramebufferGeometry(32, 16, 128, 32), await resized.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(new FramebufferGeometry(32, 16, 128, 32), _back.Geometry);
    }

    [Fact]
    public async Task The_frontend_hears_the_refresh_period()
    {
        Assert.True(_back.SetRefreshPeriod(50));
        await Until.TrueAsync(() => _front.RefreshPeriod == 50, "the refresh period at the frontend");
    }
}
