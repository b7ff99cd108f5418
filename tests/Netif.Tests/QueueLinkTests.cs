using Netif.Links;

namespace Netif.Tests;

/// <summary>The in-process link's side of the <see cref="INetworkLink"/> contract.</summary>
public sealed class QueueLinkTests
{
    [Fact]
    public async Task A_frame_longer_than_the_destination_stays_next_and_says_how_long_it_is()
    {
        var (a, b) = NetworkLink.CreatePair();
        var frame = TestFrames.Make(1500, 1);
        var offload = new FrameOffload(FrameChecksum.Validated);
        await a.WriteAsync(frame, offload, Timeouts.Short);
        await a.WriteAsync(TestFrames.Make(60, 2), cancellationToken: Timeouts.Short);

        Assert.False(b.TryRead(new byte[1499], out var tooLong));
        Assert.Equal(new ReceivedFrame(1500, offload), tooLong);
        await Assert.ThrowsAsync<ArgumentException>(async () => await b.ReadAsync(new byte[100], Timeouts.Short));

        var buffer = new byte[1500];
        Assert.True(b.TryRead(buffer, out var got));
        Assert.Equal(new ReceivedFrame(1500, offload), got);
        Assert.Equal(frame, buffer);
        Assert.Equal(60, (await b.ReadAsync(buffer, Timeouts.Short)).Length);
        Assert.False(b.TryRead(buffer, out var none));
        Assert.Equal(default, none);
    }

    [Fact]
    public void A_frame_longer_than_any_link_carries_is_refused_at_the_write()
    {
        var (a, b) = NetworkLink.CreatePair();
        Assert.Throws<ArgumentException>(() => a.TryWrite(new byte[Frames.MaxFrame + 1], default));
        Assert.True(a.TryWrite(new byte[Frames.MaxFrame], default));
        Assert.True(b.TryRead(new byte[Frames.MaxFrame], out var got));
        Assert.Equal(Frames.MaxFrame, got.Length);
    }
}
