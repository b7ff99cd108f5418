using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt;
using Xen.Gnt.Unix;

namespace Xen.Unix.Tests;

/// <summary>
/// Stress written as a driver would be, generic over the backends (<c>where TEvents : IEvents</c>,
/// <c>where TMemory : IMemory</c>), run here over the Unix backends.
/// </summary>
public sealed class GenericStressTests
{
    /// <summary>Many channels ping-pong at once; every channel must see every one of its events, in order.</summary>
    private static async Task PingPongAsync<TEvents>(TEvents a, TEvents b, int channels, int rounds)
        where TEvents : IEvents
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var pairs = Enumerable.Range(0, channels).Select(_ =>
        {
            var (port, server) = a.Listen(b.LocalDomain);
            return (Server: server, Client: b.Connect(a.LocalDomain, port));
        }).ToArray();
        var work = pairs.SelectMany(p => new[]
        {
            Task.Run(async () =>
            {
                var seen = EventCounter.Initial;
                for (var i = 1; i <= rounds; i++)
                {
                    a.Send(p.Server);
                    seen = await a.RecvAsync(p.Server, seen, timeout.Token);
                    Assert.Equal((ulong)i, seen.Value);
                }
            }),
            Task.Run(async () =>
            {
                var seen = EventCounter.Initial;
                while (seen.Value < (ulong)rounds)
                {
                    seen = await b.RecvAsync(p.Client, seen, timeout.Token);
                    b.Send(p.Client);
                }
            }),
        });
        await Task.WhenAll(work);
        foreach (var (server, client) in pairs)
        {
            a.Close(server);
            b.Close(client);
        }
    }

    /// <summary>A writer fills a shared page, the reader's mapping sees it after the event, for many rounds.</summary>
    private static async Task ShareAndSignalAsync<TEvents, TMemory>(TEvents ea, TMemory ma, TEvents eb, TMemory mb, int rounds)
        where TEvents : IEvents
        where TMemory : IMemory
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var share = ma.Share(mb.LocalDomain, 2, writable: false);
        using var view = mb.MapMany(ma.LocalDomain, [share.Refs[0], share.Refs[1]], writable: false);
        var (port, server) = ea.Listen(eb.LocalDomain);
        var client = eb.Connect(ea.LocalDomain, port);
        var reader = Task.Run(async () =>
        {
            var seen = EventCounter.Initial;
            for (var i = 1; i <= rounds; i++)
            {
                seen = await eb.RecvAsync(client, seen, timeout.Token);
                Assert.Equal((byte)i, view.ReadOnlySpan[(i * 97) % view.Length]);
                eb.Send(client);
            }
        });
        var acked = EventCounter.Initial;
        for (var i = 1; i <= rounds; i++)
        {
            share.Span[(i * 97) % share.Length] = (byte)i;
            ea.Send(server);
            acked = await ea.RecvAsync(server, acked, timeout.Token);
        }
        await reader;
    }

    [Fact]
    public async Task Sixteen_channels_ping_ponging_at_once_lose_and_invent_no_event()
    {
        using var root = new TempRoot();
        using var a = UnixEvents.Create(1, root.Path);
        using var b = UnixEvents.Create(2, root.Path);
        await PingPongAsync(a, b, channels: 16, rounds: 1000);
    }

    [Fact]
    public async Task Channels_ping_ponging_with_inline_completions_and_spinning_lose_no_event()
    {
        using var root = new TempRoot();
        using var a = new UnixEvents(new UnixEventsOptions { Root = root.Path, Domain = 1, InlineCompletions = true, SpinBeforeBlock = TimeSpan.FromMicroseconds(5) });
        using var b = new UnixEvents(new UnixEventsOptions { Root = root.Path, Domain = 2, InlineCompletions = true });
        await PingPongAsync(a, b, channels: 8, rounds: 1000);
    }

    [Fact]
    public async Task Data_written_before_an_event_is_seen_by_the_mapper_after_it()
    {
        using var root = new TempRoot();
        using var ea = UnixEvents.Create(1, root.Path);
        using var eb = UnixEvents.Create(2, root.Path);
        using var ma = UnixMemory.Create(1, root.Path);
        using var mb = UnixMemory.Create(2, root.Path);
        await ShareAndSignalAsync(ea, ma, eb, mb, rounds: 2000);
    }
}
