using System.Diagnostics;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt;
using Xen.Gnt.Unix;
using Xunit.Abstractions;

namespace Xen.Unix.Tests;

/// <summary>This process is domain 1; a real second process (the peer program) is domain 2.</summary>
[Collection(nameof(NoForksBeside))]
public sealed class CrossProcessTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly TempRoot _root = new();

    public void Dispose() => _root.Dispose();

    /// <summary>Reads a byte another process may write.</summary>
    private static unsafe byte ReadByte(PageBuffer pages, int offset) => Volatile.Read(ref pages.Pointer[offset]);

    private static uint[] Refs(string text) => [.. text.Split(',').Select(uint.Parse)];

    [Fact]
    public void Pages_shared_in_either_direction_show_each_others_writes()
    {
        using var memory = UnixMemory.Create(1, _root.Path);
        using var peer = new PeerProcess(_root.Path, 2);

        using var mine = memory.Share(2, 1, writable: true);
        mine.Span[0] = 11;
        var mapped = peer.Ask($"map 1 {mine.Refs[0]} rw");
        Assert.Equal("11", peer.Ask($"read {mapped} 0"));
        peer.Ask($"write {mapped} 1 22");
        Assert.Equal(22, mine.ReadOnlySpan[1]);

        var theirs = peer.Ask("share 1 2 rw").Split(' ');
        peer.Ask($"write {theirs[0]} 4096 33");
        var refs = Refs(theirs[1]);
        using var view = memory.MapMany(2, [new GrantRef(refs[0]), new GrantRef(refs[1])], writable: true);
        Assert.Equal(33, view.ReadOnlySpan[4096]);
        view.Span[5] = 44;
        Assert.Equal("44", peer.Ask($"read {theirs[0]} 5"));
    }

    [Fact]
    public void A_write_through_a_read_only_mapping_faults_in_the_child()
    {
        using var memory = UnixMemory.Create(1, _root.Path);
        using var share = memory.Share(2, 1, writable: false);
        using var peer = new PeerProcess(_root.Path, 2);
        var mapped = peer.Ask($"map 1 {share.Refs[0]} ro");
        peer.Post($"poke {mapped} 0 1");
        var status = peer.WaitForExit();
        output.WriteLine($"child exit status {status}");
        Assert.Equal(128 + 11, status); // killed by SIGSEGV
        Assert.Equal(0, share.ReadOnlySpan[0]);
    }

    [Fact]
    public void A_map_from_the_wrong_domain_is_refused()
    {
        using var memory = UnixMemory.Create(1, _root.Path);
        using var share = memory.Share(3, 1, writable: true);
        using var peer = new PeerProcess(_root.Path, 2);
        Assert.Equal("error GrantException PermissionDenied", peer.Try($"map 1 {share.Refs[0]} ro"));
    }

    [Fact]
    public async Task Twenty_thousand_ping_pongs_lose_no_event()
    {
        const int Rounds = 20_000;
        using var events = UnixEvents.Create(1, _root.Path);
        using var peer = new PeerProcess(_root.Path, 2);
        var (port, channel) = events.Listen(2);
        peer.Ask($"connect 1 {port}");
        peer.Post($"echo 1 {Rounds}");
        // A bound against a hang only: beside a Xen VM under emulation, a round can take milliseconds.
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var seen = EventCounter.Initial;
        for (var i = 1; i <= Rounds; i++)
        {
            events.Send(channel);
            seen = await events.RecvAsync(channel, seen, cancel.Token);
            Assert.Equal((ulong)i, seen.Value);
        }
        Assert.Equal($"ok {Rounds}", peer.ReadLine());
    }

    [Fact]
    public async Task Killing_the_mapper_fires_its_unmap_notification_and_fails_waiters_promptly()
    {
        using var events = UnixEvents.Create(1, _root.Path);
        using var memory = UnixMemory.Create(1, _root.Path);
        using var share = memory.Share(2, 1, writable: true);
        share.Span[100] = 1;
        var (port, channel) = events.Listen(2);
        using var peer = new PeerProcess(_root.Path, 2);
        peer.Ask($"connect 1 {port}");
        peer.Ask($"map 1 {share.Refs[0]} rw 100");
        var wait = events.RecvAsync(channel, EventCounter.Initial).AsTask();

        var clock = Stopwatch.StartNew();
        peer.Kill();
        await Assert.ThrowsAsync<PeerClosedException>(() => wait.WaitAsync(Timeout));
        var waiterFailed = clock.Elapsed;
        while (ReadByte(share, 100) != 0 && clock.Elapsed < Timeout)
            await Task.Delay(1);
        output.WriteLine($"after kill -9: waiter failed in {waiterFailed.TotalMilliseconds:F1} ms, byte cleared in {clock.Elapsed.TotalMilliseconds:F1} ms");
        Assert.Equal(0, share.ReadOnlySpan[100]);
    }

    [Fact]
    public async Task Killing_the_granter_fires_its_share_notification_in_the_mapper()
    {
        using var memory = UnixMemory.Create(1, _root.Path);
        using var peer = new PeerProcess(_root.Path, 2);
        var theirs = peer.Ask("share 1 1 rw 50").Split(' ');
        peer.Ask($"write {theirs[0]} 50 1");
        using var view = memory.Map(2, new GrantRef(Refs(theirs[1])[0]), writable: true);
        Assert.Equal(1, view.ReadOnlySpan[50]);
        peer.Kill();
        var clock = Stopwatch.StartNew();
        while (ReadByte(view, 50) != 0 && clock.Elapsed < Timeout)
            await Task.Delay(1);
        Assert.Equal(0, view.ReadOnlySpan[50]);
        // The mapper's view stays valid after its granter died.
        view.Span[51] = 3;
        Assert.Equal(3, view.ReadOnlySpan[51]);
    }

    [Fact]
    public async Task A_page_let_go_while_its_granter_is_still_dying_is_removed_once_the_granter_is_gone()
    {
        // A killed granter's files close one at a time; its mapper can see it die and unmap before the
        // kernel has dropped the granter's lock on the page. The lingering peer holds that moment open.
        using var memory = UnixMemory.Create(1, _root.Path);
        using var peer = new PeerProcess(_root.Path, 2, ["linger", "1"]);
        var grant = new GrantRef(uint.Parse(peer.Ready.Split(' ')[1]));
        var page = System.IO.Path.Combine(_root.Path, "2", "gnt", grant.Value.ToString());
        var view = memory.Map(2, grant, writable: true);

        peer.Post("go");
        var clock = Stopwatch.StartNew();
        while (ProcessState(peer.Id) != 'Z')
        {
            Assert.True(clock.Elapsed < Timeout, $"The peer's main thread did not leave (state {ProcessState(peer.Id)}).");
            await Task.Delay(1);
        }
        view.Dispose();
        Assert.True(File.Exists(page), "The dying granter still holds its page, so the mapper cannot remove it yet.");

        peer.Post("end");
        Assert.Equal(0, peer.WaitForExit());
        clock.Restart();
        while (File.Exists(page) && clock.Elapsed < Timeout)
            await Task.Delay(10);
        Assert.False(File.Exists(page), $"The page of the dead granter is still there: {string.Join(", ", _root.Leftovers())}");
    }

    /// <summary>The state letter in /proc/&lt;pid&gt;/stat (after the command name, which may hold spaces).</summary>
    private static char ProcessState(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[stat.LastIndexOf(')') + 2];
    }

    [Fact]
    public void Four_processes_allocating_refs_at_once_get_no_collision()
    {
        const int Each = 250;
        var peers = Enumerable.Range(0, 4).Select(_ => new PeerProcess(_root.Path, 3, memoryOnly: true)).ToArray();
        try
        {
            foreach (var peer in peers)
                peer.Post($"alloc 1 {Each}");
            var refs = peers.SelectMany(p =>
            {
                var answer = p.ReadLine();
                Assert.StartsWith("ok ", answer);
                return Refs(answer[3..]);
            }).ToArray();
            Assert.Equal(4 * Each, refs.Length);
            Assert.Equal(refs.Length, refs.Distinct().Count());
            Assert.All(refs, r => Assert.True(r >= GrantRef.FirstUnreserved));
            foreach (var peer in peers)
                peer.Ask("exit");
        }
        finally
        {
            foreach (var peer in peers)
                peer.Dispose();
        }
        Assert.Empty(_root.Leftovers());
    }

    [Fact]
    public void No_files_remain_after_clean_exits()
    {
        var events = UnixEvents.Create(1, _root.Path);
        var memory = UnixMemory.Create(1, _root.Path, events.SendOnPort());
        using (var peer = new PeerProcess(_root.Path, 2))
        {
            var (port, _) = events.Listen(2);
            var local = peer.Ask($"connect 1 {port}");
            var share = memory.Share(2, 1, writable: true);
            peer.Ask($"map 1 {share.Refs[0]} rw 0");
            var theirs = peer.Ask("share 1 1 ro").Split(' ');
            memory.Map(2, new GrantRef(Refs(theirs[1])[0]), writable: false);
            Assert.NotEmpty(_root.Leftovers());
            peer.Ask("exit");
            Assert.Equal(0, peer.WaitForExit());
            Assert.NotNull(local);
        }
        memory.Dispose();
        events.Dispose();
        Assert.Empty(_root.Leftovers());
    }
}
