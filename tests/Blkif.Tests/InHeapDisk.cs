using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;
using Xen.InHeap;

namespace Blkif.Tests;

/// <summary>A blkback in domain 0 and a blkfront in domain 1 on in-heap backends, connected without Xenstore.</summary>
internal sealed class InHeapDisk : IAsyncDisposable
{
    public const ushort BackendDomain = 0;
    public const ushort FrontendDomain = 1;

    private InHeapDisk(IBlockStorage storage, BlkbackOptions? backOptions, BlkfrontOptions? frontOptions)
    {
        Storage = storage;
        Back = InHeapDomain.Open(EventHub, GrantHub, BackendDomain);
        Front = InHeapDomain.Open(EventHub, GrantHub, FrontendDomain);
        Backend = new Blkback<InHeapEvents, InHeapMemory>(Back.Events, Back.Memory, storage, backOptions);
        Frontend = Blkfront<InHeapEvents, InHeapMemory>.Create(Front.Events, Front.Memory, BackendDomain, Backend.Info, frontOptions);
        Backend.Connect(FrontendDomain, Frontend.FrontendInfo);
    }

    public InHeapEventHub EventHub { get; } = new();
    public InHeapGrantHub GrantHub { get; } = new();
    public InHeapDomain Back { get; }
    public InHeapDomain Front { get; }
    public IBlockStorage Storage { get; }
    public Blkback<InHeapEvents, InHeapMemory> Backend { get; }
    public Blkfront<InHeapEvents, InHeapMemory> Frontend { get; }

    public static InHeapDisk Start(IBlockStorage storage, BlkbackOptions? backOptions = null, BlkfrontOptions? frontOptions = null) =>
        new(storage, backOptions, frontOptions);

    /// <summary>
    /// Simulates the backend domain's crash as its peer sees it: its event channels close. (Its memory
    /// stays, as its threads still run in this process; the cross-process tests kill a real process.)
    /// </summary>
    public void KillBackend() => EventHub.Kill(BackendDomain);

    public async ValueTask DisposeAsync()
    {
        await Frontend.DisposeAsync();
        await Backend.DisposeAsync();
        Front.Dispose();
        Back.Dispose();
        GrantHub.Dispose();
        EventHub.Dispose();
        Storage.Dispose();
    }
}

internal static class TestData
{
    public static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static CancellationToken Timeout(int seconds = 30) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;
}
