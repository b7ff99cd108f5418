using FsCheck;
using FsCheck.Fluent;

namespace SharedMemoryRing.Tests;

/// <summary>Byte rings: the Xenstore and console pages, both directions, honest and hostile peers.</summary>
public sealed unsafe class ByteRingTests
{
    private readonly record struct Indexed(ByteRing Ring, nint ConsAt, nint ProdAt)
    {
        public uint* Cons => (uint*)ConsAt;
        public uint* Prod => (uint*)ProdAt;
    }

    // Each ring of both pages, with its indices located from the layout constants.
    private static Indexed[] Rings(byte* page)
    {
        var xenstore = new XenstorePage(page);
        var console = new ConsolePage(page);
        return
        [
            new(xenstore.Requests, (nint)(page + XenstoreRingLayout.ReqConsOffset), (nint)(page + XenstoreRingLayout.ReqProdOffset)),
            new(xenstore.Responses, (nint)(page + XenstoreRingLayout.RspConsOffset), (nint)(page + XenstoreRingLayout.RspProdOffset)),
            new(console.In, (nint)(page + ConsoleRingLayout.InConsOffset), (nint)(page + ConsoleRingLayout.InProdOffset)),
            new(console.Out, (nint)(page + ConsoleRingLayout.OutConsOffset), (nint)(page + ConsoleRingLayout.OutProdOffset)),
        ];
    }

    [Fact]
    public void Hostile_indices_never_move_more_than_the_ring_holds() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(
            Arb.From(Gen.Zip(Gen.Choose(int.MinValue, int.MaxValue), Gen.Choose(int.MinValue, int.MaxValue)).ArrayOf()),
            indices =>
            {
                using var pages = new GuardedPages(1);
                var buffer = new byte[4096];
                foreach (var indexed in Rings(pages.Pointer))
                {
                    var ring = indexed.Ring;
                    foreach (var (cons, prod) in indices)
                    {
                        *indexed.Cons = unchecked((uint)cons);
                        *indexed.Prod = unchecked((uint)prod);
                        var claimed = unchecked((uint)prod - (uint)cons);
                        try
                        {
                            var read = ring.Read(buffer);
                            if (claimed > ring.Size || read != claimed)
                                return false.Label($"read {read} with prod-cons {claimed} in {ring.Size}");
                            *indexed.Cons = unchecked((uint)cons);
                            var written = ring.Write(buffer);
                            if (written != ring.Size - claimed)
                                return false.Label($"wrote {written} with prod-cons {claimed} in {ring.Size}");
                        }
                        catch (RingProtocolException)
                        {
                            if (claimed <= ring.Size)
                                return false.Label($"rejected prod-cons {claimed} in {ring.Size}");
                        }
                    }
                }
                return true.ToProperty();
            }));

    [Fact]
    public void The_xenstore_page_puts_its_indices_and_fields_where_xs_wire_h_does()
    {
        using var pages = new GuardedPages(1);
        var page = new XenstorePage(pages.Pointer);
        page.Requests.Write("ab"u8);
        page.Responses.Write("xyz"u8);
        page.ServerFeatures = 1;
        page.Connection = 2;
        page.Error = 3;
        Assert.Equal("ab"u8.ToArray(), pages.Span[..2].ToArray());
        Assert.Equal("xyz"u8.ToArray(), pages.Span[1024..1027].ToArray());
        Assert.Equal(2u, pages.Word(2052));
        Assert.Equal(3u, pages.Word(2060));
        Assert.Equal([1u, 2u, 3u], new[] { pages.Word(2064), pages.Word(2068), pages.Word(2072) });
    }

    [Fact]
    public void The_console_page_puts_its_rings_and_indices_where_console_h_does()
    {
        using var pages = new GuardedPages(1);
        var page = new ConsolePage(pages.Pointer);
        page.In.Write("in"u8);
        page.Out.Write("out"u8);
        Assert.Equal("in"u8.ToArray(), pages.Span[..2].ToArray());
        Assert.Equal("out"u8.ToArray(), pages.Span[1024..1027].ToArray());
        Assert.Equal(2u, pages.Word(3076));
        Assert.Equal(3u, pages.Word(3084));
        Assert.Equal(2048, page.Out.Size);
    }

    [Fact]
    public void A_write_wraps_around_the_end_of_the_ring()
    {
        using var pages = new GuardedPages(1);
        var ring = new XenstorePage(pages.Pointer).Requests;
        pages.Word(2048) = pages.Word(2052) = 1020;
        Assert.Equal(8, ring.Write("01234567"u8));
        Assert.Equal("0123"u8.ToArray(), pages.Span[1020..1024].ToArray());
        Assert.Equal("4567"u8.ToArray(), pages.Span[..4].ToArray());
        var back = new byte[8];
        Assert.Equal(8, ring.Read(back));
        Assert.Equal("01234567"u8.ToArray(), back);
    }

    [Fact]
    public void A_size_that_is_not_a_power_of_two_is_refused()
    {
        using var pages = new GuardedPages(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ByteRing(pages.Pointer, 1000, (uint*)(pages.Pointer + 2048), (uint*)(pages.Pointer + 2052)));
    }
}
