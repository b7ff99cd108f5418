using Xen.Store.Server;

namespace Xen.Store.Tests;

public sealed class WatchTests : IAsyncLifetime
{
    private readonly XenstoreServer _server = new();
    private XenstoreClient _writer = null!;
    private XenstoreClient _watcher = null!;

    public Task InitializeAsync()
    {
        _writer = XenstoreClient.Connect(_server.Connect());
        _watcher = XenstoreClient.Connect(_server.Connect());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _writer.DisposeAsync();
        await _watcher.DisposeAsync();
        _server.Dispose();
    }

    private static async Task<string> Next(IAsyncEnumerator<WatchEvent> events)
    {
        Assert.True(await events.MoveNextAsync().AsTask().Within());
        return events.Current.Path;
    }

    [Fact]
    public async Task A_watcher_that_falls_too_far_behind_gets_the_queued_events_then_an_error()
    {
        await using var events = _watcher.WatchAsync("/busy", Timeouts.Token).GetAsyncEnumerator();
        await Next(events);
        // Nobody reads while the writer makes one more change than the client queues.
        for (var i = 0; i <= XenstoreClient.WatchBacklog; i++)
            await _writer.WriteAsync("/busy", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // Once the writer's last change has crossed the watcher's connection, its event has too.
        await _watcher.ReadAsync("/busy");
        var seen = 0;
        var e = await Assert.ThrowsAsync<XenstoreException>(async () =>
        {
            while (await events.MoveNextAsync().AsTask().Within())
                seen++;
        });
        Assert.Equal(XenstoreClient.WatchBacklog, seen);
        Assert.Equal(XsError.ENOSPC, e.Error);
    }

    [Fact]
    public async Task A_watch_fires_once_when_registered_even_on_a_missing_node()
    {
        await using var events = _watcher.WatchAsync("/not/yet", Timeouts.Token).GetAsyncEnumerator();
        Assert.Equal("/not/yet", await Next(events));
    }

    [Fact]
    public async Task A_watch_fires_for_the_path_and_descendants_but_not_siblings()
    {
        await using var events = _watcher.WatchAsync("/dev", Timeouts.Token).GetAsyncEnumerator();
        await Next(events);
        await _writer.WriteAsync("/device", "sibling");
        await _writer.WriteAsync("/dev", "self");
        await _writer.WriteAsync("/dev/a/b", "child");
        Assert.Equal("/dev", await Next(events));
        Assert.Equal("/dev/a/b", await Next(events));
    }

    [Fact]
    public async Task Removing_a_parent_fires_watches_below_it_with_their_own_path()
    {
        await _writer.WriteAsync("/tree/leaf", "v");
        await using var events = _watcher.WatchAsync("/tree/leaf", Timeouts.Token).GetAsyncEnumerator();
        await Next(events);
        await _writer.RmAsync("/tree");
        Assert.Equal("/tree/leaf", await Next(events));
    }

    [Fact]
    public async Task Writes_inside_a_transaction_fire_only_on_commit()
    {
        await using var events = _watcher.WatchAsync("/txw", Timeouts.Token).GetAsyncEnumerator();
        await Next(events);
        var pending = events.MoveNextAsync().AsTask();
        await _writer.TransactionAsync(async tx =>
        {
            await tx.WriteAsync("/txw/a", "1");
            await _writer.GetDomainPathAsync(0);
            await _watcher.GetDomainPathAsync(0);
            Assert.False(pending.IsCompleted);
        });
        Assert.True(await pending.Within());
        Assert.Equal("/txw/a", events.Current.Path);
    }

    [Fact]
    public async Task An_aborted_transaction_fires_nothing()
    {
        await using var events = _watcher.WatchAsync("/abort", Timeouts.Token).GetAsyncEnumerator();
        await Next(events);
        await Assert.ThrowsAsync<InvalidOperationException>(() => _writer.TransactionAsync(async tx =>
        {
            await tx.WriteAsync("/abort/a", "1");
            throw new InvalidOperationException();
        }));
        await _writer.WriteAsync("/abort/b", "2");
        Assert.Equal("/abort/b", await Next(events));
    }

    [Fact]
    public async Task A_relative_watch_reports_relative_paths()
    {
        await using var raw = new Raw(_server.Connect());
        Assert.Equal((XsMessageType.Watch, "OK\0"), await raw.RequestAsync(XsMessageType.Watch, Raw.Args("rel", "tok")));
        var first = await raw.ReceiveAsync();
        Assert.Equal("rel\0tok\0", System.Text.Encoding.ASCII.GetString(first!.Value.Payload));
        await _writer.WriteAsync("/local/domain/0/rel/x", "v");
        var second = await raw.ReceiveAsync();
        Assert.Equal(XsMessageType.WatchEvent, second!.Value.Header.Type);
        Assert.Equal("rel/x\0tok\0", System.Text.Encoding.ASCII.GetString(second.Value.Payload));
    }

    [Fact]
    public async Task A_duplicate_watch_is_EEXIST_and_unwatching_an_unknown_one_is_ENOENT()
    {
        await using var raw = new Raw(_server.Connect());
        await raw.RequestAsync(XsMessageType.Watch, Raw.Args("/x", "t"));
        Assert.Equal((XsMessageType.Error, "EEXIST\0"), await raw.RequestAsync(XsMessageType.Watch, Raw.Args("/x", "t")));
        Assert.Equal((XsMessageType.Error, "ENOENT\0"), await raw.RequestAsync(XsMessageType.Unwatch, Raw.Args("/x", "other")));
        Assert.Equal((XsMessageType.Unwatch, "OK\0"), await raw.RequestAsync(XsMessageType.Unwatch, Raw.Args("/x", "t")));
    }

    [Fact]
    public async Task Ending_the_enumeration_removes_the_watch()
    {
        await foreach (var _ in _watcher.WatchAsync("/once", Timeouts.Token))
            break;
        await using var events = _watcher.WatchAsync("/other", Timeouts.Token).GetAsyncEnumerator();
        await Next(events);
        await _writer.WriteAsync("/once", "ignored");
        await _writer.WriteAsync("/other", "seen");
        Assert.Equal("/other", await Next(events));
    }

    [Fact]
    public async Task Introduce_and_release_fire_the_special_watches()
    {
        await using var intro = _watcher.WatchAsync(XsWire.IntroduceDomain, Timeouts.Token).GetAsyncEnumerator();
        await using var release = _watcher.WatchAsync(XsWire.ReleaseDomain, Timeouts.Token).GetAsyncEnumerator();
        await Next(intro);
        await Next(release);
        await _writer.IntroduceAsync(5, 1234, 3);
        Assert.Equal(XsWire.IntroduceDomain, await Next(intro));
        Assert.True(await _writer.IsDomainIntroducedAsync(5));
        await _writer.ReleaseAsync(5);
        Assert.Equal(XsWire.ReleaseDomain, await Next(release));
        Assert.False(await _writer.IsDomainIntroducedAsync(5));
    }

    [Fact]
    public async Task Releasing_a_domain_drops_its_connections()
    {
        await _writer.IntroduceAsync(9, 1, 1);
        var guest = XenstoreClient.Connect(_server.Connect(domain: 9));
        await guest.GetDomainPathAsync(9);
        await _writer.ReleaseAsync(9);
        await Assert.ThrowsAsync<XenstoreException>(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await guest.GetDomainPathAsync(9);
                await Task.Delay(10);
            }
        });
        await guest.DisposeAsync();
    }

    [Fact]
    public async Task Wait_for_value_completes_when_the_condition_holds()
    {
        var wait = _watcher.WaitForValueAsync("/ready", v => v == "yes", Timeouts.Token);
        await _writer.WriteAsync("/ready", "no");
        await _writer.WriteAsync("/ready", "yes");
        Assert.Equal("yes", await wait.Within());
    }
}
