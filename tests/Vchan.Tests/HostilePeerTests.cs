using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using Xen.Gnt;

namespace Vchan.Tests;

/// <summary>A peer that writes nonsense into the control page gets a protocol error, never an out-of-range access.</summary>
public class HostilePeerTests
{
    private static void Poke32(VchanPair pair, int offset, uint value) =>
        BinaryPrimitives.WriteUInt32LittleEndian(pair.Control.Span[offset..], value);

    [Fact]
    public void A_producer_index_past_the_ring_is_a_protocol_error()
    {
        using var pair = VchanPair.Create(0, 0);
        Poke32(pair, VchanControlPage.LeftOffset + 4, 1025); // left.prod: 1025 bytes in a 1024-byte ring
        Assert.Throws<VchanProtocolException>(() => pair.Server.TryRead(new byte[4096]));
    }

    [Fact]
    public void A_consumer_index_that_frees_more_than_was_written_is_a_protocol_error()
    {
        using var pair = VchanPair.Create(0, 0);
        pair.Client.Write(new byte[10]);
        Poke32(pair, VchanControlPage.LeftOffset, 0xFFFF_0000); // left.cons far ahead of prod
        Assert.Throws<VchanProtocolException>(() => pair.Client.TryWrite(new byte[10]));
    }

    [Fact]
    public void A_producer_index_that_moves_backwards_is_a_protocol_error()
    {
        using var pair = VchanPair.Create(0, 0);
        pair.Client.Write(new byte[100]);
        Assert.Equal(10, pair.Server.TryRead(new byte[10])); // the server has seen prod at 100
        Poke32(pair, VchanControlPage.LeftOffset + 4, 50);   // left.prod back to 50, still ahead of cons
        var e = Assert.Throws<VchanProtocolException>(() => pair.Server.TryRead(new byte[10]));
        Assert.Contains("backwards", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_consumer_index_that_moves_backwards_is_a_protocol_error()
    {
        using var pair = VchanPair.Create(0, 0);
        pair.Client.Write(new byte[100]);
        Assert.Equal(100, pair.Server.TryRead(new byte[100]));
        Assert.Equal(1, pair.Client.TryWrite(new byte[1]));  // the client has seen cons at 100
        Poke32(pair, VchanControlPage.LeftOffset, 50);        // left.cons back to 50, still behind prod
        var e = Assert.Throws<VchanProtocolException>(() => pair.Client.TryWrite(new byte[1]));
        Assert.Contains("backwards", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void After_a_protocol_error_the_end_stays_failed()
    {
        using var pair = VchanPair.Create(0, 0);
        Poke32(pair, VchanControlPage.RightOffset + 4, 5000);
        Assert.Throws<VchanProtocolException>(() => pair.Client.TryRead(new byte[1]));
        Poke32(pair, VchanControlPage.RightOffset + 4, 0);
        Assert.Throws<VchanProtocolException>(() => pair.Client.TryRead(new byte[1]));
    }

    [Fact]
    public async Task A_blocked_reader_sees_a_protocol_error_not_a_hang()
    {
        using var pair = VchanPair.Create(4096, 4096);
        var read = pair.Client.ReadAsync(new byte[100]).AsTask();
        await Task.Delay(20);
        Poke32(pair, VchanControlPage.RightOffset + 4, 1 << 30);
        pair.KickClient(); // the event wakes the reader, which then checks the index
        await Assert.ThrowsAsync<VchanProtocolException>(() => read.WaitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public void A_live_byte_that_means_nothing_is_a_protocol_error()
    {
        using var pair = VchanPair.Create();
        pair.Control.Span[VchanControlPage.CliLiveOffset] = 7;
        Assert.Throws<VchanProtocolException>(() => pair.Server.State);
    }

    [Theory]
    [InlineData(9, 12)]
    [InlineData(12, 21)]
    [InlineData(10, 10)]
    [InlineData(11, 11)]
    [InlineData(10, 20)]
    [InlineData(0xFFFF, 0xFFFF)]
    public void A_client_refuses_a_control_page_with_bad_orders(int left, int right)
    {
        var b = VchanPair.CreateBackends();
        var (port, channel) = b.ServerEvents.Listen(VchanPair.ClientDomain);
        using var control = b.ServerMemory.Share(VchanPair.ClientDomain, 1, writable: true);
        BinaryPrimitives.WriteUInt16LittleEndian(control.Span[VchanControlPage.LeftOrderOffset..], (ushort)left);
        BinaryPrimitives.WriteUInt16LittleEndian(control.Span[VchanControlPage.RightOrderOffset..], (ushort)right);
        control.Span[VchanControlPage.SrvLiveOffset] = 1;
        Assert.Throws<VchanProtocolException>(() =>
            VchanEndpoint.Connect(b.ClientEvents, b.ClientMemory, VchanPair.ServerDomain, new VchanRendezvous(control.Refs[0], port)));
        b.ServerEvents.Close(channel);
    }

    [Fact]
    public void A_client_refuses_grants_that_were_never_granted()
    {
        var b = VchanPair.CreateBackends();
        var (port, channel) = b.ServerEvents.Listen(VchanPair.ClientDomain);
        using var control = b.ServerMemory.Share(VchanPair.ClientDomain, 1, writable: true);
        BinaryPrimitives.WriteUInt16LittleEndian(control.Span[VchanControlPage.LeftOrderOffset..], 13);
        BinaryPrimitives.WriteUInt16LittleEndian(control.Span[VchanControlPage.RightOrderOffset..], 12);
        for (var i = 0; i < 3; i++)
            BinaryPrimitives.WriteUInt32LittleEndian(control.Span[(VchanControlPage.GrantsOffset + 4 * i)..], 0xDEAD + (uint)i);
        Assert.Throws<GrantException>(() =>
            VchanEndpoint.Connect(b.ClientEvents, b.ClientMemory, VchanPair.ServerDomain, new VchanRendezvous(control.Refs[0], port)));
        b.ServerEvents.Close(channel);
    }

    [Fact]
    public void Any_scribbled_header_gives_bytes_within_bounds_or_a_protocol_error() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>().Filter(a => a.Length > 0), Gen.Choose(0, 23).ToArbitrary(), (junk, start) =>
        {
            using var pair = VchanPair.Create(0, 0);
            pair.Client.Write(new byte[100]);
            pair.Server.Write(new byte[100]);
            var header = pair.Control.Span[start..24];
            junk.AsSpan(0, Math.Min(junk.Length, header.Length)).CopyTo(header);
            foreach (var end in new[] { pair.Server, pair.Client })
            {
                var buffer = new byte[5000];
                try
                {
                    if (end.TryRead(buffer) > end.ReadRingSize)
                        return false;
                    if (end.TryWrite(buffer) > end.WriteRingSize)
                        return false;
                }
                catch (VchanProtocolException)
                {
                }
                catch (IOException e) when (e.Message.Contains("closed", StringComparison.Ordinal))
                {
                    // A live byte of 0: the peer "left".
                }
            }
            return true;
        }).QuickCheckThrowOnFailure();
}
