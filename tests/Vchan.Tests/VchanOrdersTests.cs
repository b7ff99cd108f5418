using FsCheck;
using FsCheck.Fluent;

namespace Vchan.Tests;

public class VchanOrdersTests
{
    [Theory]
    [InlineData(0, 0, 10, 11)]
    [InlineData(1024, 2048, 10, 11)]
    [InlineData(2048, 1024, 11, 10)]
    [InlineData(2048, 2048, 11, 12)]
    [InlineData(2048, 4096, 11, 12)]
    [InlineData(4096, 2048, 12, 11)]
    [InlineData(1025, 2049, 11, 12)]
    [InlineData(8192, 65536, 13, 16)]
    [InlineData(4097, 4096, 13, 12)]
    [InlineData(1 << 20, 1 << 20, 20, 20)]
    [InlineData(1 << 20, 0, 20, 11)]
    [InlineData(0, 1 << 20, 11, 20)]
    public void Choose_picks_libxenvchans_orders(int left, int right, int leftOrder, int rightOrder) =>
        Assert.Equal((leftOrder, rightOrder), VchanOrders.Choose(left, right));

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(0, (1 << 20) + 1)]
    public void Choose_rejects_sizes_outside_zero_to_one_mebibyte(int left, int right) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => VchanOrders.Choose(left, right));

    [Fact]
    public void Chosen_orders_hold_the_requested_sizes_and_pass_the_clients_checks() =>
        Prop.ForAll(Gen.Choose(0, 1 << 20).ToArbitrary(), Gen.Choose(0, 1 << 20).ToArbitrary(), (left, right) =>
        {
            var (l, r) = VchanOrders.Choose(left, right);
            VchanOrders.Validate(l, r);
            return VchanOrders.RingSize(l) >= left && VchanOrders.RingSize(r) >= right
                && (l >= 12 || r >= 12 || (l, r) is (10, 11) or (11, 10));
        }).QuickCheckThrowOnFailure();

    [Theory]
    [InlineData(9, 12)]
    [InlineData(12, 21)]
    [InlineData(10, 10)]
    [InlineData(11, 11)]
    [InlineData(0, 0)]
    [InlineData(65535, 12)]
    [InlineData(10, 20)] // 256 grants would run into the ring at 1024
    [InlineData(20, 10)]
    public void Validate_rejects_what_a_client_must_refuse(int left, int right) =>
        Assert.Throws<VchanProtocolException>(() => VchanOrders.Validate(left, right));

    [Theory]
    [InlineData(10, 11)]
    [InlineData(11, 10)]
    [InlineData(12, 12)]
    [InlineData(11, 20)]
    [InlineData(20, 20)]
    public void Validate_accepts_legal_orders(int left, int right) => VchanOrders.Validate(left, right);
}
