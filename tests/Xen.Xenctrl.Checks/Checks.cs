using System.Globalization;
using Xen.Evtchn;
using Xen.Evtchn.Xenctrl;
using Xen.Gnt;
using Xen.Gnt.Xenctrl;

namespace Xen.Xenctrl.Checks;

/// <summary>
/// What the xenctrl backends must do against real Xen, one check per behaviour. Everything runs in dom0,
/// which may bind event channels to itself and map its own grants, so both ends live here.
/// </summary>
internal static class Checks
{
    private const ushort Dom0 = 0;

    internal static readonly (string Name, Func<Task> Run)[] All =
    [
        ("local-domain-is-dom0", LocalDomainIsDom0),
        ("xenstore-domid-reads-0", XenstoreDomidReads0),
        ("notify-reaches-peer-each-round", NotifyReachesPeerEachRound),
        ("notify-before-wait-is-kept", NotifyBeforeWaitIsKept),
        ("recv-cancelled-by-token", RecvCancelledByToken),
        ("close-fails-waiter-and-send", CloseFailsWaiterAndSend),
        ("dispose-fails-waiters", DisposeFailsWaiters),
        ("connect-to-connected-port-is-not-bound", ConnectToConnectedPortIsNotBound),
        ("connect-to-missing-domain-is-peer-closed", ConnectToMissingDomainIsPeerClosed),
        ("share-and-map-one-page", ShareAndMapOnePage),
        ("map-many-in-given-order", MapManyInGivenOrder),
        ("read-only-grant-refuses-writable-map", ReadOnlyGrantRefusesWritableMap),
        ("read-only-mapping-faults-on-write", ReadOnlyMappingFaultsOnWrite),
        ("map-of-unknown-ref-fails", MapOfUnknownRefFails),
        ("share-over-gntalloc-limit-is-no-space", ShareOverGntallocLimitIsNoSpace),
        ("unmap-clears-byte-and-notifies", UnmapClearsByteAndNotifies),
        ("unshare-clears-byte-and-notifies", UnshareClearsByteAndNotifies),
        ("kill-9-of-mapper-clears-byte-and-notifies", KillOfMapperClearsByteAndNotifies),
        ("kill-9-of-sharer-clears-byte-and-notifies", KillOfSharerClearsByteAndNotifies),
        ("domain-opens-working-backends", DomainOpensWorkingBackends),
    ];

    private static CancellationToken Patience => new CancellationTokenSource(Check.Patience).Token;

    private static async Task LocalDomainIsDom0()
    {
        Check.Equal((ushort)0, await XenctrlDomain.FindIdAsync(new XenctrlDomainOptions(), Patience), "found domain id");
        using var domain = await XenctrlDomain.OpenAsync(cancellationToken: Patience);
        Check.Equal((ushort)0, domain.Events.LocalDomain, "XenctrlEvents.LocalDomain");
    }

    private static async Task XenstoreDomidReads0()
    {
        // Not dom0 by its capabilities: the id comes from Xenstore's domid, through the xenbus device.
        var capabilities = Path.GetTempFileName();
        try
        {
            var options = new XenctrlDomainOptions { CapabilitiesPath = capabilities, Xenstore = Xen.Store.XsWire.XenbusDevicePath };
            Check.Equal((ushort)0, await XenctrlDomain.FindIdAsync(options, Patience), "domid from xenstore");
        }
        finally
        {
            File.Delete(capabilities);
        }
    }

    private static async Task NotifyReachesPeerEachRound()
    {
        using var events = XenctrlEvents.Open(Dom0);
        var (port, a) = events.Listen(Dom0);
        var b = events.Connect(Dom0, port);
        Check.That(a.LocalPort != b.LocalPort, "the two ends have distinct ports");
        EventCounter seenA = default, seenB = default;
        const int rounds = 50;
        for (var i = 0; i < rounds; i++)
        {
            events.Send(a);
            seenB = await events.RecvAsync(b, seenB, Patience);
            events.Send(b);
            seenA = await events.RecvAsync(a, seenA, Patience);
        }
        // The listening end gets exactly the notifications sent to it; the connecting end may count one more:
        // Xen leaves a newly bound interdomain port pending once.
        Check.Equal((ulong)rounds, seenA.Value, "events counted at the listening end");
        Check.That(seenB.Value is rounds or rounds + 1, $"events counted at the connecting end: {seenB.Value}");
    }

    private static async Task NotifyBeforeWaitIsKept()
    {
        using var events = XenctrlEvents.Open(Dom0);
        var (port, a) = events.Listen(Dom0);
        var b = events.Connect(Dom0, port);
        events.Send(b);
        events.Send(b);
        events.Send(b);
        var seen = await events.RecvAsync(a, EventCounter.Initial, Patience);
        Check.That(seen.Value is >= 1 and <= 3, $"three notifications sent before anyone waited count 1..3, got {seen.Value}");
        events.Close(a);
        events.Close(b);
    }

    private static async Task RecvCancelledByToken()
    {
        using var events = XenctrlEvents.Open(Dom0);
        var (_, a) = events.Listen(Dom0);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Check.ThrowsAsync<OperationCanceledException>(
            async () => await events.RecvAsync(a, EventCounter.Initial, cts.Token), "a wait with no event");
    }

    private static async Task CloseFailsWaiterAndSend()
    {
        using var events = XenctrlEvents.Open(Dom0);
        var (port, a) = events.Listen(Dom0);
        var b = events.Connect(Dom0, port);
        var waiting = events.RecvAsync(a, EventCounter.Initial, Patience).AsTask();
        await Task.Delay(50);
        events.Close(a);
        await Check.ThrowsAsync<ChannelClosedException>(() => waiting, "a waiter when its channel closes");
        Check.Throws<ChannelClosedException>(() => events.Send(a), "Send on a closed channel");
        await Check.ThrowsAsync<ChannelClosedException>(async () => await events.RecvAsync(a, EventCounter.Initial), "RecvAsync on a closed channel");
        events.Close(a); // twice: nothing
        // Xen does not tell the peer: its notify still succeeds.
        events.Send(b);
    }

    private static async Task DisposeFailsWaiters()
    {
        var events = XenctrlEvents.Open(Dom0);
        var (_, a) = events.Listen(Dom0);
        var waiting = events.RecvAsync(a, EventCounter.Initial, Patience).AsTask();
        await Task.Delay(50);
        events.Dispose();
        await Check.ThrowsAsync<ChannelClosedException>(() => waiting, "a waiter when the backend is disposed");
    }

    private static Task ConnectToConnectedPortIsNotBound()
    {
        using var events = XenctrlEvents.Open(Dom0);
        var (port, _) = events.Listen(Dom0);
        events.Connect(Dom0, port);
        var e = Check.Throws<PortNotBoundException>(() => events.Connect(Dom0, port), "connecting twice to one port");
        Check.Equal(port, e.Port, "the port in the error");
        return Task.CompletedTask;
    }

    private static Task ConnectToMissingDomainIsPeerClosed()
    {
        using var events = XenctrlEvents.Open(Dom0);
        Check.Throws<PeerClosedException>(() => events.Connect(31000, new Port(5)), "connecting to a domain that does not exist");
        return Task.CompletedTask;
    }

    private static Task ShareAndMapOnePage()
    {
        using var memory = XenctrlMemory.Open(Dom0);
        using var share = memory.Share(Dom0, 1, writable: true);
        Check.That(share.Refs.All(r => !r.IsReserved), $"refs are not reserved: {share.Refs[0]}");
        Check.That(share.ReadOnlySpan.IndexOfAnyExcept((byte)0) < 0, "a new share is zeroed");
        for (var i = 0; i < share.Length; i++)
            share.Span[i] = (byte)(i * 7);
        using var mapping = memory.Map(Dom0, share.Refs[0], writable: true);
        Check.That(mapping.ReadOnlySpan.SequenceEqual(share.ReadOnlySpan), "the mapping sees what the sharer wrote");
        mapping.Span[100] = 0xAB;
        Check.Equal((byte)0xAB, share.ReadOnlySpan[100], "the sharer sees what the mapper wrote");
        return Task.CompletedTask;
    }

    private static Task MapManyInGivenOrder()
    {
        using var memory = XenctrlMemory.Open(Dom0);
        using var share = memory.Share(Dom0, 4, writable: true);
        for (var page = 0; page < 4; page++)
            share.Span.Slice(page * PageBuffer.PageSize, PageBuffer.PageSize).Fill((byte)(page + 1));
        GrantRef[] reversed = [share.Refs[3], share.Refs[2], share.Refs[1], share.Refs[0]];
        using var mapping = memory.MapMany(Dom0, reversed, writable: true);
        Check.Equal(4, mapping.PageCount, "pages mapped");
        for (var page = 0; page < 4; page++)
        {
            var view = mapping.ReadOnlySpan.Slice(page * PageBuffer.PageSize, PageBuffer.PageSize);
            Check.That(view.IndexOfAnyExcept((byte)(4 - page)) < 0, $"mapped page {page} is shared page {3 - page}");
        }
        return Task.CompletedTask;
    }

    private static Task ReadOnlyGrantRefusesWritableMap()
    {
        using var memory = XenctrlMemory.Open(Dom0);
        using var share = memory.Share(Dom0, 1, writable: false);
        share.Span[0] = 42;
        Check.Throws<GrantException>(() => { using var _ = memory.Map(Dom0, share.Refs[0], writable: true); }, "a writable map of a read-only grant");
        using var mapping = memory.Map(Dom0, share.Refs[0], writable: false);
        Check.That(!mapping.Writable, "the mapping is read-only");
        Check.Equal((byte)42, mapping.ReadOnlySpan[0], "the read-only mapping sees the data");
        Check.Throws<InvalidOperationException>(() => _ = mapping.Span, "a writable span of a read-only mapping");
        return Task.CompletedTask;
    }

    private static async Task ReadOnlyMappingFaultsOnWrite()
    {
        using var memory = XenctrlMemory.Open(Dom0);
        using var share = memory.Share(Dom0, 1, writable: false);
        share.Span[0] = 42;
        using var child = Children.Start("child-write-readonly", share.Refs[0].ToString());
        Check.Equal("mapped", await Children.ReadLineAsync(child, "mapped"), "the child's first line");
        using var timeout = new CancellationTokenSource(Check.Patience);
        await child.WaitForExitAsync(timeout.Token);
        var rest = await child.StandardOutput.ReadToEndAsync(timeout.Token);
        Check.That(!rest.Contains("wrote", StringComparison.Ordinal), "the write through a read-only mapping went through");
        Check.That(child.ExitCode != 0, "the child survived writing to a read-only mapping");
        Check.Equal((byte)42, share.ReadOnlySpan[0], "the shared byte after the faulting write");
    }

    private static Task MapOfUnknownRefFails()
    {
        using var memory = XenctrlMemory.Open(Dom0);
        var e = Check.Throws<GrantException>(() => { using var _ = memory.Map(Dom0, new GrantRef(1_000_000), writable: true); }, "mapping a ref nobody granted");
        Check.That(e.Message.Contains("1000000", StringComparison.Ordinal), $"the message names the ref: {e.Message}");
        return Task.CompletedTask;
    }

    private static Task ShareOverGntallocLimitIsNoSpace()
    {
        using var memory = XenctrlMemory.Open(Dom0);
        var e = Check.Throws<GrantException>(() => { using var _ = memory.Share(Dom0, 4096, writable: true); }, "sharing more pages than gntalloc allows");
        Check.Equal(GrantStatus.NoSpace, e.Status, "the status");
        return Task.CompletedTask;
    }

    private static async Task UnmapClearsByteAndNotifies()
    {
        using var events = XenctrlEvents.Open(Dom0);
        using var memory = XenctrlMemory.Open(Dom0);
        var (port, sharerEnd) = events.Listen(Dom0);
        var mapperEnd = events.Connect(Dom0, port);
        using var share = memory.Share(Dom0, 2, writable: true);
        share.Span[PageBuffer.PageSize + 9] = 1;
        var mapping = memory.MapMany(Dom0, [share.Refs[0], share.Refs[1]], writable: true,
                                     UnmapNotify.ClearByteAndSendEvent(PageBuffer.PageSize + 9, mapperEnd.LocalPort.Value));
        Check.Equal((byte)1, mapping.ReadOnlySpan[PageBuffer.PageSize + 9], "the flag byte before unmapping");
        memory.Unmap(mapping);
        Check.Equal((byte)0, share.ReadOnlySpan[PageBuffer.PageSize + 9], "the flag byte after unmapping");
        var seen = await events.RecvAsync(sharerEnd, EventCounter.Initial, Patience);
        Check.That(seen.Value >= 1, "the sharer got the unmap event");
    }

    private static async Task UnshareClearsByteAndNotifies()
    {
        using var events = XenctrlEvents.Open(Dom0);
        using var memory = XenctrlMemory.Open(Dom0);
        var (port, mapperEnd) = events.Listen(Dom0);
        var sharerEnd = events.Connect(Dom0, port);
        var share = memory.Share(Dom0, 1, writable: true, UnmapNotify.ClearByteAndSendEvent(3, sharerEnd.LocalPort.Value));
        share.Span[3] = 1;
        using var mapping = memory.Map(Dom0, share.Refs[0], writable: true);
        memory.Unshare(share);
        Check.Equal((byte)0, mapping.ReadOnlySpan[3], "the mapper's flag byte after the sharer let go");
        var seen = await events.RecvAsync(mapperEnd, EventCounter.Initial, Patience);
        Check.That(seen.Value >= 1, "the mapper got the unshare event");
    }

    private static async Task KillOfMapperClearsByteAndNotifies()
    {
        using var events = XenctrlEvents.Open(Dom0);
        using var memory = XenctrlMemory.Open(Dom0);
        var (port, sharerEnd) = events.Listen(Dom0);
        using var share = memory.Share(Dom0, 1, writable: true);
        share.Span[0] = 1;
        using var child = Children.Start("child-map", port.ToString(), share.Refs[0].ToString());
        Check.Equal("ready", await Children.ReadLineAsync(child, "ready"), "the child's first line");
        Check.Equal((byte)1, share.ReadOnlySpan[0], "the flag byte while the child maps the page");
        child.Kill(); // SIGKILL
        await Check.Eventually(() => share.ReadOnlySpan[0] == 0, "the flag byte is cleared when the mapper is killed");
        var seen = await events.RecvAsync(sharerEnd, EventCounter.Initial, Patience);
        Check.That(seen.Value >= 1, "the sharer got the event of the killed mapper");
    }

    private static async Task KillOfSharerClearsByteAndNotifies()
    {
        using var events = XenctrlEvents.Open(Dom0);
        using var memory = XenctrlMemory.Open(Dom0);
        var (port, mapperEnd) = events.Listen(Dom0);
        using var child = Children.Start("child-share", port.ToString());
        var line = await Children.ReadLineAsync(child, "ref=N");
        Check.That(line.StartsWith("ref=", StringComparison.Ordinal), $"the child's first line: {line}");
        using var mapping = memory.Map(Dom0, GrantRef.Parse(line["ref=".Length..]), writable: true);
        Check.Equal((byte)1, mapping.ReadOnlySpan[0], "the flag byte while the child shares the page");
        child.Kill(); // SIGKILL
        await Check.Eventually(() => mapping.ReadOnlySpan[0] == 0, "the flag byte is cleared when the sharer is killed");
        var seen = await events.RecvAsync(mapperEnd, EventCounter.Initial, Patience);
        Check.That(seen.Value >= 1, "the mapper got the event of the killed sharer");
    }

    private static async Task DomainOpensWorkingBackends()
    {
        using var domain = await XenctrlDomain.OpenAsync(cancellationToken: Patience);
        var events = domain.Events;
        var memory = domain.Memory;
        Check.Equal((ushort)0, events.LocalDomain, "XenctrlEvents.LocalDomain");
        Check.Equal((ushort)0, memory.LocalDomain, "XenctrlMemory.LocalDomain");
        var (port, a) = events.Listen(0);
        var b = events.Connect(0, port);
        events.Send(b);
        Check.That((await events.RecvAsync(a, EventCounter.Initial, Patience)).Value >= 1, "an event through the domain's XenctrlEvents");
        using var share = memory.Share(0, 1, writable: true);
        share.Span[0] = 5;
        using var mapping = memory.Map(0, share.Refs[0], writable: false);
        Check.Equal((byte)5, mapping.ReadOnlySpan[0], "a page through the domain's XenctrlMemory");
        _ = string.Create(CultureInfo.InvariantCulture, $"{port}");
    }
}
