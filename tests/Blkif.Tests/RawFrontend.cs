using System.Runtime.CompilerServices;
using Blkif.Storage;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;
using Xen.InHeap;
using TestSupport;

namespace Blkif.Tests;

/// <summary>
/// A frontend that writes whatever the test says straight into the ring: the hostile peer of a real
/// blkback. It grants a few data pages (writable), one read-only page and one indirect page.
/// </summary>
internal sealed class RawFrontend : IAsyncDisposable
{
    public const ushort BackendDomain = 0;
    public const ushort FrontendDomain = 1;

    private readonly InHeapEventHub _eventHub = new();
    private readonly InHeapGrantHub _grantHub = new();
    private readonly InHeapDomain _back;
    private readonly InHeapDomain _front;
    private readonly Share _ringPage;
    private readonly Channel _channel;
    private ulong _nextId = 1000;

    /// <param name="idleQueues">Queues beyond the first, each with a ring of its own that this frontend never uses.</param>
    public RawFrontend(RecordingStorage storage, BlkbackOptions? options = null, bool persistent = true, int idleQueues = 0)
    {
        Storage = storage;
        _back = InHeapDomain.Open(_eventHub, _grantHub, BackendDomain);
        _front = InHeapDomain.Open(_eventHub, _grantHub, FrontendDomain);
        Backend = new Blkback<InHeapEvents, InHeapMemory>(_back.Events, _back.Memory, storage, options);
        _ringPage = _front.Memory.Share(BackendDomain, 1, writable: true);
        Ring = FrontRing<BlkifRequest, BlkifResponse>.Initialise(_ringPage);
        (var port, _channel) = _front.Events.Listen(BackendDomain);
        Data = _front.Memory.Share(BackendDomain, 4, writable: true);
        ReadOnlyPage = _front.Memory.Share(BackendDomain, 1, writable: false);
        IndirectPage = _front.Memory.Share(BackendDomain, 1, writable: true);
        var rings = new List<BlkifRingInfo> { new(_ringPage.Refs, port) };
        for (var i = 0; i < idleQueues; i++)
        {
            var page = _front.Memory.Share(BackendDomain, 1, writable: true);
            FrontRing<BlkifRequest, BlkifResponse>.Initialise(page);
            rings.Add(new BlkifRingInfo(page.Refs, _front.Events.Listen(BackendDomain).Port));
        }
        Backend.Connect(FrontendDomain, new BlkifFrontendInfo(0, rings, persistent));
    }

    public RecordingStorage Storage { get; }
    public Blkback<InHeapEvents, InHeapMemory> Backend { get; }
    public FrontRing<BlkifRequest, BlkifResponse> Ring { get; }
    public Share Data { get; }
    public Share ReadOnlyPage { get; }
    public Share IndirectPage { get; }

    /// <summary>A grant ref that names no page granted to the backend.</summary>
    public static GrantRef Ungranted => new(4000);

    /// <summary>Capacity in 512-byte sectors.</summary>
    public ulong Capacity => (ulong)Storage.Length / 512;

    public static BlkifRequestSegment Segment(GrantRef gref, byte first = 0, byte last = 7) => new() { Gref = gref, FirstSect = first, LastSect = last };

    /// <summary>A read or write of <paramref name="segments"/>.</summary>
    public static BlkifRequest Request(BlkifOperation operation, ulong sector, params BlkifRequestSegment[] segments)
    {
        var request = new BlkifRequest { Operation = operation, NrSegments = (byte)segments.Length, SectorNumber = sector };
        Span<BlkifRequestSegment> inline = request.Segments;
        segments.AsSpan(0, Math.Min(segments.Length, inline.Length)).CopyTo(inline);
        return request;
    }

    public static BlkifRequest Discard(ulong sector, ulong count)
    {
        var request = default(BlkifRequest);
        ref var discard = ref Unsafe.As<BlkifRequest, BlkifRequestDiscard>(ref request);
        discard.Operation = BlkifOperation.Discard;
        discard.SectorNumber = sector;
        discard.NrSectors = count;
        return request;
    }

    /// <summary>An indirect request whose segments are in <see cref="IndirectPage"/>, filled with <paramref name="segments"/>.</summary>
    public BlkifRequest Indirect(BlkifOperation operation, ulong sector, ushort count, BlkifRequestSegment[] segments, GrantRef? page = null)
    {
        var slots = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, BlkifRequestSegment>(IndirectPage.Span);
        segments.CopyTo(slots);
        var request = default(BlkifRequest);
        ref var indirect = ref Unsafe.As<BlkifRequest, BlkifRequestIndirect>(ref request);
        indirect.Operation = BlkifOperation.Indirect;
        indirect.IndirectOp = operation;
        indirect.NrSegments = count;
        indirect.SectorNumber = sector;
        indirect.IndirectGrefs[0] = page ?? IndirectPage.Refs[0];
        return request;
    }

    /// <summary>Puts <paramref name="request"/> on the ring with a fresh id and waits for its answer.</summary>
    public BlkifResponse Send(BlkifRequest request)
    {
        request.Id = _nextId++;
        Ring.WriteRequest(request);
        if (Ring.PushRequests())
            _front.Events.Send(_channel);
        var deadline = Environment.TickCount64 + 10_000;
        BlkifResponse response;
        while (!Ring.TryReadResponse(out response))
        {
            if (Environment.TickCount64 > deadline)
                throw new TimeoutException("The backend did not answer within 10 s.");
            if (Backend.Completion.IsCompleted && Ring.UnconsumedResponses == 0)
                throw new InvalidOperationException("The backend stopped.", Backend.Completion.Exception);
            Thread.Sleep(1);
        }
        Assert.Equal(request.Id, response.Id);
        return response;
    }

    /// <summary>
    /// Puts <paramref name="requests"/> on the ring with fresh ids, pushes them together (one
    /// <c>req_prod</c> update, so the backend finds them all at once) and waits for every answer.
    /// </summary>
    public List<BlkifResponse> SendTogether(params BlkifRequest[] requests)
    {
        var ids = new List<ulong>();
        foreach (var r in requests)
        {
            var request = r;
            request.Id = _nextId++;
            ids.Add(request.Id);
            Ring.WriteRequest(request);
        }
        if (Ring.PushRequests())
            _front.Events.Send(_channel);
        var deadline = Environment.TickCount64 + 10_000;
        var responses = new List<BlkifResponse>();
        while (responses.Count < requests.Length)
        {
            if (Ring.TryReadResponse(out var response))
            {
                responses.Add(response);
                continue;
            }
            if (Environment.TickCount64 > deadline)
                throw new TimeoutException("The backend did not answer within 10 s.");
            if (Backend.Completion.IsCompleted)
                throw new InvalidOperationException("The backend stopped.", Backend.Completion.Exception);
            Thread.Sleep(1);
        }
        Assert.Equal(ids, responses.Select(r => r.Id));
        return responses;
    }

    /// <summary>Writes <paramref name="reqProd"/> straight into the shared index and wakes the backend.</summary>
    public unsafe void CorruptRequestProducer(uint reqProd)
    {
        *(uint*)_ringPage.Pointer = reqProd;
        Kick.Peer(_front.Events, _channel);
    }

    public async ValueTask DisposeAsync()
    {
        await Backend.DisposeAsync();
        _front.Dispose();
        _back.Dispose();
        _grantHub.Dispose();
        _eventHub.Dispose();
    }
}

/// <summary>A memory disk that records every call and fails the test if one strays outside the disk.</summary>
internal sealed class RecordingStorage(long length, int sectorSize = 512, bool readOnly = false) : IBlockStorage
{
    private readonly MemoryStorage _inner = new(length, sectorSize, readOnly);
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);
    public Span<byte> Bytes => _inner.Bytes;
    public long Length => _inner.Length;
    public int SectorSize => _inner.SectorSize;
    public int PhysicalSectorSize => _inner.PhysicalSectorSize;
    public bool IsReadOnly => _inner.IsReadOnly;
    public bool CanDiscard => _inner.CanDiscard;
    public int DiscardGranularity => _inner.DiscardGranularity;

    public void Read(long offset, ReadOnlySpan<Memory<byte>> buffers)
    {
        Record(offset, Sum(buffers));
        _inner.Read(offset, buffers);
    }

    public void Write(long offset, ReadOnlySpan<ReadOnlyMemory<byte>> buffers)
    {
        long total = 0;
        foreach (var b in buffers)
            total += b.Length;
        Record(offset, total);
        _inner.Write(offset, buffers);
    }

    public void Flush()
    {
        Interlocked.Increment(ref _calls);
        _inner.Flush();
    }

    public void Discard(long offset, long length)
    {
        Record(offset, length);
        _inner.Discard(offset, length);
    }

    public void Dispose() => _inner.Dispose();

    private void Record(long offset, long length)
    {
        Interlocked.Increment(ref _calls);
        Assert.True(offset >= 0 && length >= 0 && offset + length <= Length, $"The backend asked the storage for {length} bytes at {offset}, outside the {Length}-byte disk.");
        Assert.True(offset % SectorSize == 0 && length % SectorSize == 0, $"The backend asked for a partial sector: {length} bytes at {offset}.");
    }

    private static long Sum(ReadOnlySpan<Memory<byte>> buffers)
    {
        long total = 0;
        foreach (var b in buffers)
            total += b.Length;
        return total;
    }
}
