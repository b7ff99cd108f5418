using Netif;
using SharedMemoryRing;
using Xen.Evtchn.InHeap;
using Xen.Gnt;
using Xen.Gnt.InHeap;

namespace Mirage.Fuzz;

/// <summary>
/// Netfront's rx responses (and its tx responses): a hostile backend maps a real
/// <see cref="Netfront{TEvents, TMemory}"/>'s rings and answers its posted buffers with any id,
/// offset, flags and status, extra-info slots and more_data chains, or writes rsp_prod over. The
/// frontend must drop bad frames or fail with <see cref="RingProtocolException"/> or
/// <see cref="NetifProtocolException"/>; a frame it delivers must fit the buffer it was given.
/// </summary>
/// <remarks>
/// Input: a features byte (bit 0 sg, bit 1 gso-tcpv4), then operations of one byte each with their
/// arguments: answer the next rx buffer, write a raw rx slot, push, receive, send a frame, answer a
/// tx request, push tx, write rsp_prod.
/// </remarks>
public sealed class NetfrontRxTarget : FuzzTarget
{
    private const int MaxReceives = 600;

    public override string Name => "netfront-rx";

    public override unsafe void Run(ReadOnlySpan<byte> input)
    {
        var script = new FuzzInput(input);
        var flags = script.Byte();
        using var peers = new InHeapPeers();
        var netfront = Netfront<InHeapEvents, InHeapMemory>.Create(peers.Front.Events, peers.Front.Memory, InHeapPeers.BackendDomain,
            new NetbackFeatures { SplitEventChannels = false, MaxQueues = 1, Sg = (flags & 1) != 0, GsoTcpV4 = (flags & 2) != 0 });
        Mapping? txMap = null, rxMap = null;
        try
        {
            var refs = netfront.Rendezvous.Queues[0];
            txMap = peers.Back.Memory.Map(InHeapPeers.FrontendDomain, refs.TxRingRef, writable: true);
            rxMap = peers.Back.Memory.Map(InHeapPeers.FrontendDomain, refs.RxRingRef, writable: true);
            var tx = BackRing<NetifTxRequest, NetifTxResponse>.Attach(txMap);
            var rx = BackRing<NetifRxRequest, NetifRxResponse>.Attach(rxMap);
            var queue = netfront.Queues[0];
            var buffer = new byte[queue.MaxFrame];
            try
            {
                while (!script.IsEmpty)
                    Step(ref script, queue, tx, rx, rxMap, buffer);
                for (var i = 0; i < MaxReceives && Receive(queue, buffer); i++)
                {
                }
            }
            catch (Exception e) when (e is RingProtocolException or NetifProtocolException)
            {
                // The documented end of a backend that broke the protocol.
            }
        }
        finally
        {
            netfront.Dispose();
            if (rxMap is not null)
                peers.Back.Memory.Unmap(rxMap);
            if (txMap is not null)
                peers.Back.Memory.Unmap(txMap);
        }
    }

    private static unsafe void Step(ref FuzzInput script, NetfrontQueue queue, BackRing<NetifTxRequest, NetifTxResponse> tx,
        BackRing<NetifRxRequest, NetifRxResponse> rx, Mapping rxMap, byte[] buffer)
    {
        switch (script.Byte() % 8)
        {
            case 0:
            {
                // Answer the next posted buffer; a delta other than 0 names another slot's id.
                var delta = script.Byte();
                var response = new NetifRxResponse
                {
                    Offset = script.UInt16(),
                    Flags = (NetifRxFlags)script.UInt16(),
                    Status = (short)script.UInt16(),
                };
                if (rx.TryReadRequest(out var request))
                {
                    response.Id = (ushort)(request.Id + (delta < 0xF0 ? 0 : delta));
                    rx.TryWriteResponse(response);
                }
                break;
            }
            case 1:
            {
                // A raw slot (an extra-info slot, or any 8 bytes) in place of a response.
                var raw = script.UInt64();
                if (rx.TryReadRequest(out _))
                    rx.TryWriteResponse(*(NetifRxResponse*)&raw);
                break;
            }
            case 2:
                rx.PushResponses();
                break;
            case 3:
                Receive(queue, buffer);
                break;
            case 4:
            {
                // A frame shorter than an Ethernet header is the caller's ArgumentException, not the peer's doing.
                var size = Frames.EthernetHeader + (script.UInt16() % (queue.MaxFrame - Frames.EthernetHeader + 1));
                queue.TrySend(buffer.AsSpan(0, size));
                queue.Flush();
                break;
            }
            case 5:
            {
                var delta = script.Byte();
                var status = (NetifStatus)(sbyte)script.Byte();
                if (tx.TryReadRequest(out var request))
                    tx.TryWriteResponse(new NetifTxResponse { Id = (ushort)(request.Id + (delta < 0xF0 ? 0 : delta)), Status = status });
                break;
            }
            case 6:
                tx.PushResponses();
                break;
            default:
                Volatile.Write(ref *(uint*)(rxMap.Pointer + SharedRingLayout.RspProdOffset), script.UInt32());
                break;
        }
    }

    private static bool Receive(NetfrontQueue queue, byte[] buffer)
    {
        if (!queue.TryReceive(buffer, out var frame))
            return false;
        if ((uint)frame.Length > (uint)buffer.Length)
            throw new FuzzFinding($"Netfront delivered a {frame.Length}-byte frame into a {buffer.Length}-byte buffer.");
        return true;
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        static SeedWriter Answer(SeedWriter w, ushort offset, NetifRxFlags flags, short status) =>
            w.Byte(0).Byte(0).UInt16(offset).UInt16((ushort)flags).UInt16((ushort)status);

        yield return ("one-frame", Answer(new SeedWriter().Byte(0), 0, 0, 60).Byte(2).Byte(3).ToArray());
        yield return ("sg-chain", Answer(Answer(new SeedWriter().Byte(1), 0, NetifRxFlags.MoreData, 4096), 0, 0, 100).Byte(2).Byte(3).ToArray());
        yield return ("error-then-good", Answer(Answer(new SeedWriter().Byte(0), 0, 0, -1), 10, NetifRxFlags.DataValidated, 80).Byte(2).Byte(3).Byte(3).ToArray());
        yield return ("extra-info", Answer(new SeedWriter().Byte(3), 0, NetifRxFlags.ExtraInfo, 1514)
            .Byte(1).UInt64(0x05B8_0001_0001).Byte(2).Byte(3).ToArray());
        yield return ("tx-round-trip", new SeedWriter().Byte(0).Byte(4).UInt16(60).Byte(5).Byte(0).Byte(0).Byte(6).Byte(4).UInt16(1514).ToArray());
        yield return ("rsp-prod-over", Answer(new SeedWriter().Byte(0), 0, 0, 60).Byte(7).UInt32(300).Byte(3).ToArray());
    }
}
