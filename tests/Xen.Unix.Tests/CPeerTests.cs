using TestSupport;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;

namespace Xen.Unix.Tests;

/// <summary>A C program written only from docs/unix-backend.md talks to these backends.</summary>
[Collection(nameof(NoForksBeside))]
public sealed class CPeerTests
{
    [Fact]
    public async Task A_C_peer_following_the_documented_convention_maps_a_grant_and_exchanges_events()
    {
        var peer = CProgram.Compile("c_peer.c");
        using var root = new TempRoot();
        using (var events = UnixEvents.Create(1, root.Path))
        using (var memory = UnixMemory.Create(1, root.Path))
        {
            using var share = memory.Share(5, 1, writable: true);
            share.Span[0] = 41;
            var (port, channel) = events.Listen(5);
            var run = Task.Run(() => peer.RunToEnd(root.Path, "5", "1", share.Refs[0].ToString(), "1", port.ToString()));
            var seen = await events.RecvAsync(channel, EventCounter.Initial).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(1UL, seen.Value);
            Assert.Equal(42, share.ReadOnlySpan[1]);
            events.Send(channel);
            Assert.Equal("ok", (await run.WaitAsync(TimeSpan.FromSeconds(30))).Trim());
        }
        Assert.Empty(root.Leftovers());
    }
}
