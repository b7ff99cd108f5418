using Xen.Gnt;
using Xen.Gnt.InHeap;

namespace Fbif.Tests;

/// <summary>IForeignFrames on the in-heap backend: a domain's own frames, and domain 0 mapping them.</summary>
public sealed class ForeignFramesTests
{
    [Fact]
    public void Domain_0_sees_what_a_domain_wrote_into_its_frames()
    {
        using var pair = new InHeapPair();
        using var pages = pair.Front.Frames.Allocate(3);
        pages.Span[4096 * 2 + 7] = 42;
        using var view = pair.Back.Frames.MapForeign(InHeapPair.FrontendDomain, [pages.Frames[2], pages.Frames[0]], writable: true);
        Assert.Equal(42, view.ReadOnlySpan[7]);
        view.Span[4096 + 1] = 9;
        Assert.Equal(9, pages.ReadOnlySpan[1]);
    }

    [Fact]
    public void Frames_are_never_0_and_distinct()
    {
        using var pair = new InHeapPair();
        using var a = pair.Front.Frames.Allocate(2);
        using var b = pair.Front.Frames.Allocate(2);
        var all = a.Frames.Concat(b.Frames).ToList();
        Assert.DoesNotContain(0UL, all);
        Assert.Equal(all.Count, all.Distinct().Count());
    }

    [Fact]
    public void An_unprivileged_domain_cannot_map_another_domains_frames()
    {
        using var pair = new InHeapPair();
        using var pages = pair.Back.Frames.Allocate(1);
        var e = Assert.Throws<FrameException>(() => pair.Front.Frames.MapForeign(InHeapPair.BackendDomain, [pages.Frames[0]], writable: false));
        Assert.Contains("not privileged", e.Message);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1000UL)]
    [InlineData(ulong.MaxValue)]
    public void A_frame_the_domain_does_not_own_is_refused(ulong frame)
    {
        using var pair = new InHeapPair();
        using var pages = pair.Front.Frames.Allocate(1);
        var e = Assert.Throws<FrameException>(() => pair.Back.Frames.MapForeign(InHeapPair.FrontendDomain, [pages.Frames[0], frame], writable: false));
        Assert.Contains($"Frame {frame} is not domain 1's memory", e.Message);
    }

    [Fact]
    public void A_read_only_view_hands_out_no_writable_span()
    {
        using var pair = new InHeapPair();
        using var pages = pair.Front.Frames.Allocate(1);
        using var view = pair.Back.Frames.MapForeign(InHeapPair.FrontendDomain, [pages.Frames[0]], writable: false);
        Assert.Throws<InvalidOperationException>(() => view.Span.Length);
    }
}
