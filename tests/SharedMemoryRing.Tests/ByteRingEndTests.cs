namespace SharedMemoryRing.Tests;

/// <summary>
/// ByteRingReader and ByteRingWriter: ends that keep their own index privately, as vchan's do, and
/// hold the peer's index to its window (never backwards, never past what the ring allows).
/// </summary>
public sealed unsafe class ByteRingEndTests
{
    private const int Size = 64;

    // One ring on a guarded page: data at 0, cons at Size, prod at Size + 4.
    private sealed class Ring : IDisposable
    {
        private readonly GuardedPages _pages = new(1);

        public ByteRing Shared => new(_pages.Pointer, Size, Cons, Prod);
        public uint* Cons => (uint*)(_pages.Pointer + Size);
        public uint* Prod => (uint*)(_pages.Pointer + Size + 4);

        public void Dispose() => _pages.Dispose();
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(40u)]
    [InlineData(uint.MaxValue - 20)]   // the indices wrap modulo 2^32 mid-way
    public void Bytes_arrive_in_order_across_the_wrap_of_the_ring(uint start)
    {
        using var ring = new Ring();
        *ring.Cons = *ring.Prod = start;
        var writer = new ByteRingWriter(ring.Shared, start);
        var reader = new ByteRingReader(ring.Shared, start);
        var sent = new List<byte>();
        var received = new List<byte>();
        var next = (byte)0;
        var buffer = new byte[Size];
        for (var round = 0; round < 50; round++)
        {
            var chunk = new byte[1 + round * 7 % (Size + 10)];
            foreach (ref var b in chunk.AsSpan())
                b = next++;
            var free = writer.Free;
            var written = writer.Write(chunk);
            Assert.Equal(Math.Min(chunk.Length, free), written);
            sent.AddRange(chunk.AsSpan(0, written).ToArray());
            next = (byte)(next - (chunk.Length - written));
            var read = reader.Read(buffer.AsSpan(0, 1 + round * 5 % Size));
            received.AddRange(buffer.AsSpan(0, read).ToArray());
        }
        int n;
        while ((n = reader.Read(buffer)) > 0)
            received.AddRange(buffer.AsSpan(0, n).ToArray());
        Assert.Equal(sent, received);
        Assert.Equal(writer.Prod, *ring.Prod);
        Assert.Equal(reader.Cons, *ring.Cons);
    }

    [Fact]
    public void A_reader_starts_where_it_is_told_and_keeps_its_index_from_the_page()
    {
        using var ring = new Ring();
        var writer = new ByteRingWriter(ring.Shared, 0);
        writer.Write(new byte[30]);
        var reader = new ByteRingReader(ring.Shared, 10);   // a previous owner read 10
        Assert.Equal(20, reader.Available);
        *ring.Cons = 25;                                    // the peer scribbles on our index
        Assert.Equal(20, reader.Read(new byte[Size]));
        Assert.Equal(30u, *ring.Cons);
    }

    [Fact]
    public void A_producer_index_more_than_the_ring_ahead_is_refused()
    {
        using var ring = new Ring();
        var reader = new ByteRingReader(ring.Shared, 0);
        *ring.Prod = Size + 1;
        Assert.Throws<RingProtocolException>(() => reader.Available);
        Assert.Throws<RingProtocolException>(() => reader.Read(new byte[1]));
    }

    [Fact]
    public void A_producer_index_that_moves_backwards_is_refused()
    {
        using var ring = new Ring();
        var reader = new ByteRingReader(ring.Shared, 0);
        *ring.Prod = 30;
        Assert.Equal(5, reader.Read(new byte[5]));
        *ring.Prod = 20;                                    // still ahead of cons, but behind what we saw
        var e = Assert.Throws<RingProtocolException>(() => reader.Read(new byte[5]));
        Assert.Contains("backwards", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_consumer_index_past_the_producer_is_refused()
    {
        using var ring = new Ring();
        var writer = new ByteRingWriter(ring.Shared, 0);
        writer.Write(new byte[10]);
        *ring.Cons = 11;
        Assert.Throws<RingProtocolException>(() => writer.Free);
        Assert.Throws<RingProtocolException>(() => writer.Write(new byte[1]));
    }

    [Fact]
    public void A_consumer_index_that_moves_backwards_is_refused()
    {
        using var ring = new Ring();
        var writer = new ByteRingWriter(ring.Shared, 0);
        writer.Write(new byte[40]);
        *ring.Cons = 30;
        Assert.Equal(1, writer.Write(new byte[1]));         // sees cons at 30
        *ring.Cons = 20;                                    // still behind prod, but behind what we saw
        var e = Assert.Throws<RingProtocolException>(() => writer.Write(new byte[1]));
        Assert.Contains("backwards", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_writer_never_takes_more_than_the_ring_holds()
    {
        using var ring = new Ring();
        var writer = new ByteRingWriter(ring.Shared, 0);
        Assert.Equal(Size, writer.Write(new byte[Size * 2]));
        Assert.Equal(0, writer.Free);
        Assert.Equal(0, writer.Write(new byte[1]));
    }
}
