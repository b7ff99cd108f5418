using System.Diagnostics;
using System.Runtime.CompilerServices;
using Netif;
using Netif.Links;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;

namespace Mirage.Fuzz;

/// <summary>
/// Netback's tx request chains: a hostile frontend fills its tx ring with requests (first slot,
/// extra-info slots, more_data chains, offsets, sizes, grant refs), pushes them and kicks a real
/// <see cref="Netback{TEvents, TMemory}"/>. Netback must answer every slot or disconnect with
/// <see cref="NetifProtocolException"/> or <see cref="RingProtocolException"/>; it must never write
/// more responses than requests, fail with anything else, or keep a page mapped after it stopped.
/// </summary>
/// <remarks>
/// Input: a flags byte (bit 0 sg, bit 1 gso-tcpv4, bit 2 gso-tcpv6 negotiated; bit 3: then a uint the
/// frontend writes over req_prod after pushing), then 12-byte <see cref="NetifTxRequest"/>s. Grant refs
/// 0-3 name the frontend's four data pages.
/// </remarks>
public sealed class NetbackTxTarget : FuzzTarget
{
    private const int DataPages = 4;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public override string Name => "netback-tx";

    public override unsafe void Run(ReadOnlySpan<byte> input)
    {
        var script = new FuzzInput(input);
        var flags = script.Byte();
        uint? reqProd = (flags & 8) != 0 ? script.UInt32() : null;

        using var peers = new InHeapPeers();
        using var txRing = peers.Front.Memory.Share(InHeapPeers.BackendDomain, 1, writable: true);
        using var rxRing = peers.Front.Memory.Share(InHeapPeers.BackendDomain, 1, writable: true);
        using var pages = peers.Front.Memory.Share(InHeapPeers.BackendDomain, DataPages, writable: false);
        for (var i = 0; i < pages.Length; i++)
            pages.Span[i] = (byte)i;
        var (port, channel) = peers.Front.Events.Listen(InHeapPeers.BackendDomain);
        var tx = FrontRing<NetifTxRequest, NetifTxResponse>.Initialise(txRing);
        FrontRing<NetifRxRequest, NetifRxResponse>.Initialise(rxRing);
        var features = new NetfrontFeatures { Sg = (flags & 1) != 0, GsoTcpV4 = (flags & 2) != 0, GsoTcpV6 = (flags & 4) != 0 };
        var rendezvous = new NetfrontRendezvous(1, features, [new NetifQueueRefs(txRing.Refs[0], rxRing.Refs[0], port, port)]);
        var (link, outside) = NetworkLink.CreatePair();
        var netback = Netback<InHeapEvents, InHeapMemory>.Attach(peers.Back.Events, peers.Back.Memory, rendezvous, link);
        try
        {
            var written = 0;
            while (script.Remaining > 0 && !tx.IsFull)
            {
                var slot = script.Struct<NetifTxRequest>();
                slot.Gref = InHeapPeers.Ref(slot.Gref.Value, pages.Refs);
                tx.WriteRequest(slot);
                written++;
            }
            tx.PushRequests();
            if (reqProd is { } corrupt)
                Volatile.Write(ref *(uint*)txRing.Pointer, corrupt);
            InHeapPeers.Kick(peers.Front.Events, channel);
            AwaitAnswers(netback, txRing.Pointer, outside, reqProd ?? (uint)written, reqProd is null);
        }
        finally
        {
            netback.DisposeAsync().AsTask().GetAwaiter().GetResult();
            link.Dispose();
            outside.Dispose();
        }
        if (netback.Completion.Exception?.InnerException is { } fault && fault is not (NetifProtocolException or RingProtocolException or EventChannelException))
            throw new FuzzFinding($"Netback stopped with {fault.GetType().Name}.", fault);
        if (peers.Grants.LiveMappings != 0)
            throw new FuzzFinding($"Netback left {peers.Grants.LiveMappings} pages mapped after it stopped.");
    }


    // Until rsp_prod reaches req_prod (every slot the frontend claimed has its response) or netback has
    // stopped; frames it sends are taken off the link. The shared index is read directly, since a
    // frontend that wrote req_prod over claimed slots its own ring never wrote.
    private static unsafe void AwaitAnswers(Netback<InHeapEvents, InHeapMemory> netback, byte* ring,
        QueueLink outside, uint reqProd, bool checkCount)
    {
        var frame = new byte[Frames.MaxFrame + 1];
        var clock = Stopwatch.StartNew();
        while (!netback.Completion.IsCompleted)
        {
            while (outside.TryRead(frame, out var received))
            {
                if ((uint)received.Length > Frames.MaxFrame)
                    throw new FuzzFinding($"Netback sent a {received.Length}-byte frame.");
            }
            var rspProd = Volatile.Read(ref *(uint*)(ring + SharedRingLayout.RspProdOffset));
            if (checkCount && rspProd > reqProd)
                throw new FuzzFinding($"Netback wrote {rspProd} tx responses for {reqProd} requests.");
            if (rspProd == reqProd)
                return;
            if (clock.Elapsed > Deadline)
                throw new FuzzFinding($"Netback answered {rspProd} of {reqProd} slots and did not stop within 10 s.");
            Thread.Yield();
        }
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        static SeedWriter Request(SeedWriter w, uint gref, ushort offset, NetifTxFlags flags, ushort id, ushort size) =>
            w.UInt32(gref).UInt16(offset).UInt16((ushort)flags).UInt16(id).UInt16(size);

        yield return ("one-frame", Request(new SeedWriter().Byte(1), 0, 0, 0, 1, 60).ToArray());
        yield return ("sg-chain", Request(Request(Request(new SeedWriter().Byte(1), 0, 100, NetifTxFlags.MoreData, 1, 3000),
            1, 0, NetifTxFlags.MoreData, 2, 1000), 2, 4000, 0, 3, 96).ToArray());
        var gso = default(NetifExtraInfo);
        gso.Type = NetifExtraType.Gso;
        gso.Gso.Type = NetifGsoType.TcpV4;
        gso.Gso.Size = 1448;
        var extra = new byte[Unsafe.SizeOf<NetifTxRequest>()];
        Unsafe.WriteUnaligned(ref extra[0], gso);
        yield return ("gso-extra", Request(new SeedWriter().Byte(3), 0, 0, NetifTxFlags.ExtraInfo | NetifTxFlags.CsumBlank, 1, 1514)
            .Bytes(extra).ToArray());
        yield return ("two-frames-checksum", Request(Request(new SeedWriter().Byte(0), 3, 10, NetifTxFlags.DataValidated, 7, 64), 3, 200, 0, 8, 1514).ToArray());
        yield return ("corrupt-req-prod", Request(new SeedWriter().Byte(8).UInt32(1000), 0, 0, 0, 1, 60).ToArray());
    }
}
