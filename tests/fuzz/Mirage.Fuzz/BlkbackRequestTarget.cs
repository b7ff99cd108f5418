using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Blkif;
using Blkif.Storage;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;

namespace Mirage.Fuzz;

/// <summary>
/// Blkback's requests, indirect ones included: a hostile frontend puts any <see cref="BlkifRequest"/>s
/// on the ring of a real <see cref="Blkback{TEvents, TMemory}"/> over a 64 KiB disk, with an indirect
/// page of any segments. Every request must get exactly one response with its id, the disk must only
/// be asked for whole sectors inside it, and the backend may stop only with
/// <see cref="RingProtocolException"/>; after it stops, no page of the frontend stays mapped.
/// </summary>
/// <remarks>
/// Input: a flags byte (bit 0 persistent grants), a count byte (1-32 requests), the requests (112 bytes
/// each), then the indirect page's bytes. Grant refs 0-3 name the four data pages, 4 a read-only page,
/// 5 the indirect page, in the requests and in the indirect page's segments.
/// </remarks>
public sealed class BlkbackRequestTarget : FuzzTarget
{
    private const long DiskBytes = 64 * 1024;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public override string Name => "blkback";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var script = new FuzzInput(input);
        var persistent = (script.Byte() & 1) != 0;
        var count = 1 + (script.Byte() % 32);

        using var peers = new InHeapPeers();
        using var storage = new CheckedStorage(DiskBytes);
        var backend = new Blkback<InHeapEvents, InHeapMemory>(peers.Back.Events, peers.Back.Memory, storage);
        using var ringPage = peers.Front.Memory.Share(InHeapPeers.BackendDomain, 1, writable: true);
        using var data = peers.Front.Memory.Share(InHeapPeers.BackendDomain, 4, writable: true);
        using var readOnly = peers.Front.Memory.Share(InHeapPeers.BackendDomain, 1, writable: false);
        using var indirect = peers.Front.Memory.Share(InHeapPeers.BackendDomain, 1, writable: true);
        GrantRef[] granted = [.. data.Refs, readOnly.Refs[0], indirect.Refs[0]];
        var ring = FrontRing<BlkifRequest, BlkifResponse>.Initialise(ringPage);
        var (port, channel) = peers.Front.Events.Listen(InHeapPeers.BackendDomain);

        var ids = new List<ulong>();
        for (var i = 0; i < count && !script.IsEmpty; i++)
        {
            var request = script.Struct<BlkifRequest>();
            ref var segments = ref request.Segments;
            if (request.Operation == BlkifOperation.Indirect)
            {
                ref var grefs = ref Unsafe.As<BlkifRequest, BlkifRequestIndirect>(ref request).IndirectGrefs;
                foreach (ref var g in (Span<GrantRef>)grefs)
                    g = DataRef(g.Value, granted, ringPage);
            }
            else if (request.Operation != BlkifOperation.Discard)
            {
                foreach (ref var s in (Span<BlkifRequestSegment>)segments)
                    s.Gref = DataRef(s.Gref.Value, granted, ringPage);
            }
            ring.WriteRequest(request);
            ids.Add(request.Id);
        }
        var page = script.Rest();
        page[..Math.Min(page.Length, indirect.Length)].CopyTo(indirect.Span);
        foreach (ref var s in MemoryMarshal.Cast<byte, BlkifRequestSegment>(indirect.Span))
            s.Gref = DataRef(s.Gref.Value, granted, ringPage);

        backend.Connect(InHeapPeers.FrontendDomain, new BlkifFrontendInfo(0, [new BlkifRingInfo(ringPage.Refs, port)], persistent));
        try
        {
            ring.PushRequests();
            InHeapPeers.Kick(peers.Front.Events, channel);
            AwaitAnswers(backend, ring, ids);
        }
        finally
        {
            backend.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        if (backend.Completion.Exception?.InnerException is { } fault && fault is not (RingProtocolException or EventChannelException))
            throw new FuzzFinding($"Blkback stopped with {fault.GetType().Name}.", fault);
        if (storage.Violation is { } violation)
            throw new FuzzFinding(violation);
        if (peers.Grants.LiveMappings != 0)
            throw new FuzzFinding($"Blkback left {peers.Grants.LiveMappings} pages mapped after it stopped.");
    }


    // As InHeapPeers.Ref, except that a value never names the ring's own page: a frontend that asks
    // for a read into its ring page overwrites its own rsp_prod, and the target's check of the
    // responses would blame the backend for it. Such a value becomes a ref nobody granted.
    private static GrantRef DataRef(uint value, GrantRef[] granted, Share ringPage)
    {
        var gref = InHeapPeers.Ref(value, granted);
        return gref == ringPage.Refs[0] ? new GrantRef(uint.MaxValue) : gref;
    }

    private static void AwaitAnswers(Blkback<InHeapEvents, InHeapMemory> backend, FrontRing<BlkifRequest, BlkifResponse> ring, List<ulong> ids)
    {
        var waiting = new List<ulong>(ids);
        var clock = Stopwatch.StartNew();
        while (waiting.Count > 0 && !backend.Completion.IsCompleted)
        {
            try
            {
                while (ring.TryReadResponse(out var response))
                {
                    if (!waiting.Remove(response.Id))
                        throw new FuzzFinding($"Blkback answered id {response.Id}, which no outstanding request has.");
                }
            }
            catch (RingProtocolException e)
            {
                throw new FuzzFinding("Blkback wrote more responses than requests.", e);
            }
            if (clock.Elapsed > Deadline)
                throw new FuzzFinding($"Blkback left {waiting.Count} of {ids.Count} requests unanswered and did not stop within 10 s.");
            Thread.Yield();
        }
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        static byte[] Request(BlkifRequest r)
        {
            var bytes = new byte[Unsafe.SizeOf<BlkifRequest>()];
            Unsafe.WriteUnaligned(ref bytes[0], r);
            return bytes;
        }
        static BlkifRequest Rw(BlkifOperation op, ulong id, ulong sector, params BlkifRequestSegment[] segments)
        {
            var r = new BlkifRequest { Operation = op, Id = id, SectorNumber = sector, NrSegments = (byte)segments.Length };
            segments.CopyTo((Span<BlkifRequestSegment>)r.Segments);
            return r;
        }
        static BlkifRequestSegment Seg(uint gref, byte first = 0, byte last = 7) => new() { Gref = new GrantRef(gref), FirstSect = first, LastSect = last };
        static byte[] Segments(params BlkifRequestSegment[] segments) => MemoryMarshal.AsBytes(segments.AsSpan()).ToArray();

        yield return ("read-write", [1, 2, .. Request(Rw(BlkifOperation.Read, 1, 0, Seg(0), Seg(1, 0, 3))),
            .. Request(Rw(BlkifOperation.Write, 2, 8, Seg(2)))]);
        yield return ("write-readonly-page", [0, 1, .. Request(Rw(BlkifOperation.Read, 9, 16, Seg(4)))]);
        var discard = default(BlkifRequest);
        ref var d = ref Unsafe.As<BlkifRequest, BlkifRequestDiscard>(ref discard);
        d.Operation = BlkifOperation.Discard;
        d.Id = 5;
        d.SectorNumber = 8;
        d.NrSectors = 16;
        yield return ("flush-discard", [1, 2, .. Request(new BlkifRequest { Operation = BlkifOperation.FlushDiskcache, Id = 4 }), .. Request(discard)]);
        var ind = default(BlkifRequest);
        ref var i = ref Unsafe.As<BlkifRequest, BlkifRequestIndirect>(ref ind);
        i.Operation = BlkifOperation.Indirect;
        i.IndirectOp = BlkifOperation.Write;
        i.Id = 7;
        i.NrSegments = 3;
        i.SectorNumber = 0;
        i.IndirectGrefs[0] = new GrantRef(5);
        yield return ("indirect-write", [1, 1, .. Request(ind), .. Segments(Seg(0), Seg(1), Seg(2, 2, 5))]);
        yield return ("past-the-end", [0, 1, .. Request(Rw(BlkifOperation.Read, 3, DiskBytes / 512 - 4, Seg(0)))]);
    }

    /// <summary>A memory disk that notes the first call outside the disk or not in whole sectors.</summary>
    private sealed class CheckedStorage(long length) : IBlockStorage
    {
        private readonly MemoryStorage _inner = new(length);

        public string? Violation { get; private set; }
        public long Length => _inner.Length;
        public int SectorSize => _inner.SectorSize;
        public int PhysicalSectorSize => _inner.PhysicalSectorSize;
        public bool IsReadOnly => _inner.IsReadOnly;
        public bool CanDiscard => _inner.CanDiscard;
        public int DiscardGranularity => _inner.DiscardGranularity;

        public void Read(long offset, ReadOnlySpan<Memory<byte>> buffers)
        {
            long total = 0;
            foreach (var b in buffers)
                total += b.Length;
            Check(offset, total);
            _inner.Read(offset, buffers);
        }

        public void Write(long offset, ReadOnlySpan<ReadOnlyMemory<byte>> buffers)
        {
            long total = 0;
            foreach (var b in buffers)
                total += b.Length;
            Check(offset, total);
            _inner.Write(offset, buffers);
        }

        public void Flush() => _inner.Flush();

        public void Discard(long offset, long length)
        {
            Check(offset, length);
            _inner.Discard(offset, length);
        }

        public void Dispose() => _inner.Dispose();

        private void Check(long offset, long length)
        {
            if (offset < 0 || length < 0 || offset + length > Length || offset % SectorSize != 0 || length % SectorSize != 0)
                Violation ??= $"Blkback asked the disk for {length} bytes at {offset}, outside the {Length}-byte disk or not in whole sectors.";
        }
    }
}
