using System.Globalization;
using Netif.Links;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Netif.Tests;

/// <summary>
/// A netback facing a frontend that behaves as Linux's xen-netfront does (drivers/net/xen-netfront.c):
/// it publishes split event channels and one directory per queue, moves from Initialising straight
/// to Connected, and ends each grant as soon as it reads the response that returns it.
/// </summary>
public sealed class LinuxNetfrontTests
{
    private const int Queues = 2;

    [Fact]
    public async Task A_frontend_that_goes_from_Initialising_straight_to_Connected_is_served_on_every_queue()
    {
        await using var net = await XenstoreNet.CreateAsync(mac: "00:16:3e:00:00:01");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var (link, outside) = NetworkLink.CreatePair();
        var backend = net.Backend(net.Dom0, link, new NetbackFeatures { MaxQueues = 4 });
        var back = backend.RunAsync(stop.Token);
        var front = net.Front;
        var queues = new (Share Tx, Share Rx, FrontRing<NetifTxRequest, NetifTxResponse> Ring, Channel TxChannel)[Queues];

        // As talk_to_netback: once the backend is in InitWait, every queue's keys in one transaction,
        // then Connected, with no Initialised in between.
        await Xenbus.WaitForStateAsync(net.Dom1, XenstoreNet.Device.BackendPath, s => s == XenbusState.InitWait, stop.Token);
        var fe = XenstoreNet.Device.FrontendPath;
        await net.Dom1.TransactionAsync(async tx =>
        {
            for (var i = 0; i < Queues; i++)
            {
                var txRing = front.Memory.Share(0, 1, writable: true);
                var rxRing = front.Memory.Share(0, 1, writable: true);
                var (txPort, txChannel) = front.Events.Listen(0);
                var (rxPort, _) = front.Events.Listen(0);
                queues[i] = (txRing, rxRing, FrontRing<NetifTxRequest, NetifTxResponse>.Initialise(txRing), txChannel);
                FrontRing<NetifRxRequest, NetifRxResponse>.Initialise(rxRing);
                var q = $"{fe}/queue-{i}";
                await tx.WriteAsync(q + "/tx-ring-ref", Number(txRing.Refs[0].Value), stop.Token);
                await tx.WriteAsync(q + "/rx-ring-ref", Number(rxRing.Refs[0].Value), stop.Token);
                await tx.WriteAsync(q + "/event-channel-tx", Number(txPort.Value), stop.Token);
                await tx.WriteAsync(q + "/event-channel-rx", Number(rxPort.Value), stop.Token);
            }
            await tx.WriteAsync(fe + "/multi-queue-num-queues", Number(Queues), stop.Token);
            foreach (var key in new[] { "request-rx-copy", "feature-rx-notify", "feature-sg", "feature-gso-tcpv4", "feature-gso-tcpv6", "feature-ipv6-csum-offload" })
                await tx.WriteAsync(fe + "/" + key, "1", stop.Token);
        }, stop.Token);
        await Xenbus.SetStateAsync(net.Dom1, fe, XenbusState.Connected, stop.Token);

        Assert.Equal(XenbusState.Connected, await net.WaitForAsync(XenstoreNet.Device.BackendPath, XenbusState.Connected));
        using var data = front.Memory.Share(0, Queues, writable: false);
        var buffer = new byte[Frames.MaxFrame];
        for (var i = 0; i < Queues; i++)
        {
            var frame = TestFrames.Make(200, i);
            frame.CopyTo(data.Span.Slice(i * PageBuffer.PageSize));
            queues[i].Ring.WriteRequest(new NetifTxRequest { Gref = data.Refs[i], Id = (ushort)i, Size = 200 });
            queues[i].Ring.PushRequests();
            front.Events.Send(queues[i].TxChannel);
            var got = await outside.ReadAsync(buffer, stop.Token);
            Assert.Equal(frame, buffer[..got.Length]);
        }
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => back);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_sent_frame_s_pages_are_unmapped_before_its_responses_unless_kept(bool keep)
    {
        await using var f = new RawFrontend(options: new NetbackOptions { KeepMappings = keep });
        // What Linux sends for a TCP segment to be finished by the backend: csum_blank, a GSO
        // extra, and the data over three slots.
        var frame = TestFrames.Make(5000, 7);
        frame.AsSpan(0, 2000).CopyTo(f.Page(0)[96..]);
        frame.AsSpan(2000, 2500).CopyTo(f.Page(1));
        frame.AsSpan(4500).CopyTo(f.Page(2)[1000..]);
        f.Write(new NetifTxRequest { Gref = f.PageRef(0), Offset = 96, Id = 1, Size = 5000,
            Flags = NetifTxFlags.CsumBlank | NetifTxFlags.DataValidated | NetifTxFlags.MoreData | NetifTxFlags.ExtraInfo });
        f.WriteExtra(new NetifExtraInfo { Type = NetifExtraType.Gso, Gso = new NetifGsoInfo { Size = 1448, Type = NetifGsoType.TcpV4 } });
        f.Write(new NetifTxRequest { Gref = f.PageRef(1), Id = 2, Size = 2500, Flags = NetifTxFlags.MoreData });
        f.Write(new NetifTxRequest { Gref = f.PageRef(2), Offset = 1000, Id = 3, Size = 500 });
        f.Push();

        var responses = await f.TxResponsesAsync(4);

        // As xennet_tx_buf_gc: the grant must end the moment its response is read. Kept: the
        // three data pages stay mapped beside the two ring pages.
        Assert.Equal(keep ? 5 : 2, f.BackendMappings);
        Assert.Equal([NetifStatus.Okay, NetifStatus.Null, NetifStatus.Okay, NetifStatus.Okay], responses.Select(r => r.Status));
        var buffer = new byte[Frames.MaxFrame];
        var got = await f.Outside.ReadAsync(buffer, Timeouts.Short);
        Assert.Equal(frame, buffer[..got.Length]);
        Assert.Equal(new FrameOffload(FrameChecksum.Blank, NetifGsoType.TcpV4, 1448), got.Offload);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_received_frame_s_pages_are_unmapped_before_its_responses_unless_kept(bool keep)
    {
        await using var f = new RawFrontend(options: new NetbackOptions { KeepMappings = keep });
        var frame = TestFrames.Make(9014, 9);
        for (var i = 0; i < 3; i++)
            f.Rx.WriteRequest(new NetifRxRequest { Id = (ushort)(10 + i), Gref = f.RxPageRef(i) });
        f.Push();
        await f.Outside.WriteAsync(frame, cancellationToken: Timeouts.Short);

        var responses = await f.RxResponsesAsync(3);

        // As xennet_get_responses: each rx grant ends as its response is read.
        Assert.Equal(keep ? 5 : 2, f.BackendMappings);
        Assert.Equal([4096, 4096, 822], responses.Select(r => (int)r.Status));
        byte[] received = [.. f.RxPage(0), .. f.RxPage(1), .. f.RxPage(2)[..822]];
        Assert.Equal(frame, received);
    }

    private static string Number(long n) => n.ToString(CultureInfo.InvariantCulture);
}
