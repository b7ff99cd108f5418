using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Gnt;

namespace Blkif;

/// <summary>
/// One ring of a blkback: copies each request out once, validates the copy, maps the pages it names
/// (from the persistent cache, or for this request only), calls the storage and answers.
/// Everything a request needs is allocated up front, so serving allocates nothing.
/// </summary>
internal sealed class BlkbackQueue<TEvents, TMemory> : IDisposable
    where TEvents : IEvents
    where TMemory : IMemory
{
    private const int PageSize = PageBuffer.PageSize;
    private const int SectorShift = 9;
    // Responses to a run of requests are pushed together, at most this long after the first of them
    // was taken, and at once when the ring runs dry: one push (and at most one event) covers several
    // small requests, where a push per response wakes a sleeping frontend for each of the first few.
    private static readonly long PushInterval = Stopwatch.Frequency / 100_000; // 10 µs

    // Mutable when the backends are structs: never readonly, or calls go to defensive copies.
#pragma warning disable IDE0044
    private TEvents _events;
    private TMemory _memory;
#pragma warning restore IDE0044
    private readonly IBlockStorage _storage;
    private readonly BlkifBackendInfo _info;
    private readonly ushort _frontend;
    private readonly Mapping _ringPages;
    private readonly BackRingChannel<TEvents, BlkifRequest, BlkifResponse> _ring;
    private readonly ulong _capacity;          // in 512-byte sectors
    private readonly uint _alignment;          // 512-byte sectors per logical sector
    private readonly int _maxSegments;
    // Neither flush nor barrier offered: the frontend cannot ask for durability, so every write is
    // made durable before it is acknowledged.
    private readonly bool _writeThrough;

    // The request being served, copied out of shared memory once.
    private readonly BlkifRequestSegment[] _segments;
    private readonly GrantRef[] _grefs;
    private readonly Memory<byte>[] _readBuffers;
    private readonly ReadOnlyMemory<byte>[] _writeBuffers;
    private readonly GrantMapCache<TMemory>? _persistent;
    private Mapping? _transient;
    private int _disposed;
    private readonly BlkifCounters _counters;

    public BlkbackQueue(TEvents events, TMemory memory, IBlockStorage storage, BlkifBackendInfo info, ushort frontend,
        BlkifRingInfo ring, int maxPersistentGrants, int spinCount, BlkifCounters counters)
    {
        _counters = counters;
        _events = events;
        _memory = memory;
        _storage = storage;
        _info = info;
        _frontend = frontend;
        _capacity = info.Sectors;
        _alignment = (uint)(info.SectorSize >> SectorShift);
        _maxSegments = Math.Max(BlkifConstants.MaxSegmentsPerRequest, info.MaxIndirectSegments);
        _writeThrough = !info.ReadOnly && !info.FeatureFlushCache && !info.FeatureBarrier;
        _segments = new BlkifRequestSegment[_maxSegments];
        _grefs = new GrantRef[Math.Max(_maxSegments, BlkifConstants.MaxIndirectPagesPerRequest)];
        _readBuffers = new Memory<byte>[_maxSegments];
        _writeBuffers = new ReadOnlyMemory<byte>[_maxSegments];
        // Persistent grants are mapped writable whatever the request: the frontend promised to reuse
        // them. Kept until the ring goes (a frontend that names more falls back to mapping per
        // request): blkfront ends none of them while connected, so none is evicted.
        _persistent = maxPersistentGrants > 0
            ? new GrantMapCache<TMemory>(memory, frontend, writable: true, maxPersistentGrants, GrantMapCacheFull.Refuse)
            : null;

        var refs = new GrantRef[ring.RingRefs.Count];
        for (var i = 0; i < refs.Length; i++)
            refs[i] = ring.RingRefs[i];
        var channel = _events.Connect(frontend, ring.EventChannel);
        try
        {
            // If this process dies, or unmaps, the frontend sees the ring's live byte cleared and an
            // event (a frontend that does not keep the convention ignores both).
            _ringPages = _memory.MapMany(frontend, refs, writable: true,
                UnmapNotify.ClearByteAndSendEvent(SharedRingLayout.BackendLiveOffset, channel.LocalPort.Value));
        }
        catch
        {
            _events.Close(channel);
            throw;
        }
        var back = BackRing<BlkifRequest, BlkifResponse>.Attach(_ringPages);
        back.DeclareLive();
        _ring = new BackRingChannel<TEvents, BlkifRequest, BlkifResponse>(events, channel, back)
        {
            SpinCount = spinCount,
        };
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            var ring = _ring.Ring;
            // The frontend may have queued requests before we connected: look at the ring first.
            while (true)
            {
                long firstUnpushed = 0; // when the oldest response not yet pushed was started, or 0
                // A ring's worth at most, then the wait, which checks for cancellation: a frontend
                // that never stops producing does not pin this thread. The requests waiting are taken
                // together (one read of req_prod, one update of req_cons); each is answered in its own
                // slot, after Serve has its copy, before the next is read.
                for (var taken = 0; taken < ring.Size;)
                {
                    var requests = ring.ConsumeRequests(ring.Size - taken);
                    if (requests.Count == 0)
                        break;
                    taken += requests.Count;
                    for (var i = 0; i < requests.Count; i++)
                    {
                        _ring.ThrowIfFrontendGone();
                        if (firstUnpushed == 0)
                            firstUnpushed = Stopwatch.GetTimestamp();
                        ring.WriteResponse(Serve(requests[i]));
                        if (Stopwatch.GetTimestamp() - firstUnpushed >= PushInterval)
                        {
                            _ring.PushResponses();
                            firstUnpushed = 0;
                        }
                    }
                }
                if (firstUnpushed != 0)
                    _ring.PushResponses();
                await _ring.WaitForRequestsAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is PeerClosedException or ChannelClosedException or OperationCanceledException)
        {
            // The frontend went away, or we were told to stop: a normal end.
        }
        finally
        {
            Dispose();
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _persistent?.Dispose();
        _transient?.Dispose();
        // Unmap the ring while its channel is open, so that its notification's event goes out.
        _ringPages.Dispose();
        try
        {
            _events.Close(_ring.Channel);
        }
        catch (EventChannelException)
        {
            // Already gone with its domain.
        }
    }

    /// <summary>Serves one request and returns its response. Never throws for anything the frontend wrote.</summary>
    internal BlkifResponse Serve(in BlkifRequest request)
    {
        var operation = request.Operation;
        // This loop is the counters' only writer: plain adds, no allocation. An indirect request
        // counts as the operation it carries.
        _counters.Requests[BlkifCounters.SlotOf(operation != BlkifOperation.Indirect ? operation
            : Unsafe.As<BlkifRequest, BlkifRequestIndirect>(ref Unsafe.AsRef(in request)).IndirectOp)]++;
        BlkifStatus status;
        try
        {
            switch (operation)
            {
                case BlkifOperation.Read:
                case BlkifOperation.Write:
                    status = request.NrSegments is >= 1 and <= BlkifConstants.MaxSegmentsPerRequest
                        ? Transfer(operation, request.SectorNumber, CopyInline(request))
                        : BlkifStatus.Error;
                    break;
                case BlkifOperation.WriteBarrier:
                case BlkifOperation.FlushDiskcache:
                    status = ServeOrdered(request);
                    break;
                case BlkifOperation.Discard:
                    status = ServeDiscard(Unsafe.As<BlkifRequest, BlkifRequestDiscard>(ref Unsafe.AsRef(in request)));
                    break;
                case BlkifOperation.Indirect:
                    ref readonly var indirect = ref Unsafe.As<BlkifRequest, BlkifRequestIndirect>(ref Unsafe.AsRef(in request));
                    operation = indirect.IndirectOp;
                    status = ServeIndirect(indirect);
                    break;
                default:
                    status = BlkifStatus.EOpNotSupp;
                    break;
            }
        }
        catch (Exception e) when (e is IOException or GrantException or ArgumentException or NotSupportedException or ObjectDisposedException or InvalidOperationException)
        {
            // The storage failed or a grant could not be mapped: the frontend gets an error, the ring goes on.
            status = BlkifStatus.Error;
        }
        finally
        {
            ReleaseTransient();
            _persistent?.EndUse();
        }
        if (status != BlkifStatus.Okay)
            _counters.Errors++;
        _counters.Finished++;
        return new BlkifResponse { Id = request.Id, Operation = operation, Status = status };
    }

    private int CopyInline(in BlkifRequest request)
    {
        int count = request.NrSegments;
        ReadOnlySpan<BlkifRequestSegment> inline = request.Segments;
        inline[..count].CopyTo(_segments);
        return count;
    }

    private BlkifStatus ServeOrdered(in BlkifRequest request)
    {
        var barrier = request.Operation == BlkifOperation.WriteBarrier;
        if (barrier ? !_info.FeatureBarrier : !_info.FeatureFlushCache)
            return BlkifStatus.EOpNotSupp;
        if (request.NrSegments > BlkifConstants.MaxSegmentsPerRequest)
            return BlkifStatus.Error;
        // Requests on this ring are served in order: everything before this one has completed.
        // With data, it is a write made durable (Linux's flush with PREFLUSH and FUA).
        if (request.NrSegments > 0)
        {
            var status = Transfer(BlkifOperation.Write, request.SectorNumber, CopyInline(request));
            if (status != BlkifStatus.Okay)
                return status;
        }
        _storage.Flush();
        return BlkifStatus.Okay;
    }

    private BlkifStatus ServeDiscard(in BlkifRequestDiscard request)
    {
        if (!_info.FeatureDiscard)
            return BlkifStatus.EOpNotSupp;
        if (_info.ReadOnly)
            return BlkifStatus.Error;
        var sector = request.SectorNumber;
        var count = request.NrSectors;
        if (!InRange(sector, count) || ((sector | count) % _alignment) != 0)
            return BlkifStatus.Error;
        if (count != 0)
            _storage.Discard((long)sector << SectorShift, (long)count << SectorShift);
        return BlkifStatus.Okay;
    }

    private BlkifStatus ServeIndirect(in BlkifRequestIndirect request)
    {
        if (_info.MaxIndirectSegments == 0)
            return BlkifStatus.EOpNotSupp;
        var operation = request.IndirectOp;
        int count = request.NrSegments;
        if (operation is not (BlkifOperation.Read or BlkifOperation.Write) || count < 1 || count > _info.MaxIndirectSegments)
            return BlkifStatus.Error;
        var pages = (count + BlkifConstants.SegmentsPerIndirectFrame - 1) / BlkifConstants.SegmentsPerIndirectFrame;
        // Copy the segments out of the indirect pages once; the frontend may change them under us afterwards.
        ReadOnlySpan<GrantRef> grefs = request.IndirectGrefs;
        if (_persistent is not null)
        {
            for (var p = 0; p < pages; p++)
            {
                var page = _persistent.Get(grefs[p]);
                if (page is null)
                    return CopyIndirectTransient(grefs[..pages], count) ? Transfer(operation, request.SectorNumber, count) : BlkifStatus.Error;
                CopySegments(page.ReadOnlySpan, p, count);
            }
        }
        else if (!CopyIndirectTransient(grefs[..pages], count))
        {
            return BlkifStatus.Error;
        }
        return Transfer(operation, request.SectorNumber, count);
    }

    private bool CopyIndirectTransient(ReadOnlySpan<GrantRef> grefs, int count)
    {
        using var pages = _memory.MapMany(_frontend, grefs, writable: false);
        for (var p = 0; p < grefs.Length; p++)
            CopySegments(pages.ReadOnlySpan.Slice(p * PageSize, PageSize), p, count);
        return true;
    }

    private void CopySegments(ReadOnlySpan<byte> page, int pageIndex, int count)
    {
        var first = pageIndex * BlkifConstants.SegmentsPerIndirectFrame;
        var n = Math.Min(BlkifConstants.SegmentsPerIndirectFrame, count - first);
        MemoryMarshal.Cast<byte, BlkifRequestSegment>(page)[..n].CopyTo(_segments.AsSpan(first));
    }

    /// <summary>Validates the copied segments against the disk, maps their pages and moves the data.</summary>
    private BlkifStatus Transfer(BlkifOperation operation, ulong sector, int count)
    {
        var write = operation != BlkifOperation.Read;
        if (write && _info.ReadOnly)
            return BlkifStatus.Error;
        ulong sectors = 0;
        for (var i = 0; i < count; i++)
        {
            var s = _segments[i];
            if (s.FirstSect > s.LastSect || s.LastSect >= BlkifLimits.SectorsPerPage)
                return BlkifStatus.Error;
            sectors += (ulong)(s.LastSect - s.FirstSect + 1);
        }
        if (!InRange(sector, sectors) || ((sector | sectors) % _alignment) != 0)
            return BlkifStatus.Error;

        if (!MapPersistent(count, write))
            MapTransient(count, write);

        var offset = (long)sector << SectorShift;
        if (write)
        {
            _storage.Write(offset, _writeBuffers.AsSpan(0, count));
            if (_writeThrough)
                _storage.Flush();
            _counters.BytesWritten += (long)sectors << SectorShift;
        }
        else
        {
            _storage.Read(offset, _readBuffers.AsSpan(0, count));
            _counters.BytesRead += (long)sectors << SectorShift;
        }
        return BlkifStatus.Okay;
    }

    // Whether sectors [sector, sector + count) lie on the disk, without overflowing.
    private bool InRange(ulong sector, ulong count) => sector <= _capacity && count <= _capacity - sector;

    private bool MapPersistent(int count, bool write)
    {
        if (_persistent is null)
            return false;
        for (var i = 0; i < count; i++)
        {
            var s = _segments[i];
            var page = _persistent.Get(s.Gref);
            if (page is null)
                return false;
            var start = s.FirstSect << SectorShift;
            var length = (s.LastSect - s.FirstSect + 1) << SectorShift;
            if (write)
                _writeBuffers[i] = page.ReadOnlyMemory.Slice(start, length);
            else
                _readBuffers[i] = page.Memory.Slice(start, length);
        }
        return true;
    }

    private void MapTransient(int count, bool write)
    {
        for (var i = 0; i < count; i++)
            _grefs[i] = _segments[i].Gref;
        // Reads write into the frontend's pages; writes only read them.
        var pages = _transient = _memory.MapMany(_frontend, _grefs.AsSpan(0, count), writable: !write);
        for (var i = 0; i < count; i++)
        {
            var s = _segments[i];
            var start = i * PageSize + (s.FirstSect << SectorShift);
            var length = (s.LastSect - s.FirstSect + 1) << SectorShift;
            if (write)
                _writeBuffers[i] = pages.ReadOnlyMemory.Slice(start, length);
            else
                _readBuffers[i] = pages.Memory.Slice(start, length);
        }
    }

    private void ReleaseTransient()
    {
        if (_transient is { } pages)
        {
            _transient = null;
            Array.Clear(_readBuffers);
            Array.Clear(_writeBuffers);
            pages.Dispose();
        }
    }
}
