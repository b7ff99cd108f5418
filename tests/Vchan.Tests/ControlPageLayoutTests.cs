using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharedMemoryRing;
using TestSupport;

namespace Vchan.Tests;

public class ControlPageLayoutTests
{
    [Fact]
    public void Control_page_layout_and_notify_bits_match_libxenvchan_header()
    {
        var probe = CProgram.Compile("probe.c").RunProbe();
        ProbeAssert.Matches(probe, new Dictionary<string, long>
        {
            ["sizeof.ring_shared"] = Unsafe.SizeOf<ByteRingIndices>(),
            ["offsetof.ring_shared.cons"] = Offset<ByteRingIndices>(nameof(ByteRingIndices.Cons)),
            ["offsetof.ring_shared.prod"] = Offset<ByteRingIndices>(nameof(ByteRingIndices.Prod)),
            ["sizeof.vchan_interface"] = Unsafe.SizeOf<VchanControlPage>(),
            ["offsetof.left"] = Offset<VchanControlPage>(nameof(VchanControlPage.Left)),
            ["offsetof.right"] = Offset<VchanControlPage>(nameof(VchanControlPage.Right)),
            ["offsetof.left_order"] = Offset<VchanControlPage>(nameof(VchanControlPage.LeftOrder)),
            ["offsetof.right_order"] = Offset<VchanControlPage>(nameof(VchanControlPage.RightOrder)),
            ["offsetof.cli_live"] = Offset<VchanControlPage>(nameof(VchanControlPage.CliLive)),
            ["offsetof.srv_live"] = Offset<VchanControlPage>(nameof(VchanControlPage.SrvLive)),
            ["offsetof.cli_notify"] = Offset<VchanControlPage>(nameof(VchanControlPage.CliNotify)),
            ["offsetof.srv_notify"] = Offset<VchanControlPage>(nameof(VchanControlPage.SrvNotify)),
            ["offsetof.grants"] = VchanControlPage.GrantsOffset,
            ["VCHAN_NOTIFY_WRITE"] = VchanControlPage.NotifyWrite,
            ["VCHAN_NOTIFY_READ"] = VchanControlPage.NotifyRead,
        });
    }

    [Fact]
    public void Named_offsets_agree_with_the_struct()
    {
        Assert.Equal(VchanControlPage.LeftOffset, Offset<VchanControlPage>(nameof(VchanControlPage.Left)));
        Assert.Equal(VchanControlPage.RightOffset, Offset<VchanControlPage>(nameof(VchanControlPage.Right)));
        Assert.Equal(VchanControlPage.LeftOrderOffset, Offset<VchanControlPage>(nameof(VchanControlPage.LeftOrder)));
        Assert.Equal(VchanControlPage.RightOrderOffset, Offset<VchanControlPage>(nameof(VchanControlPage.RightOrder)));
        Assert.Equal(VchanControlPage.CliLiveOffset, Offset<VchanControlPage>(nameof(VchanControlPage.CliLive)));
        Assert.Equal(VchanControlPage.SrvLiveOffset, Offset<VchanControlPage>(nameof(VchanControlPage.SrvLive)));
        Assert.Equal(VchanControlPage.CliNotifyOffset, Offset<VchanControlPage>(nameof(VchanControlPage.CliNotify)));
        Assert.Equal(VchanControlPage.SrvNotifyOffset, Offset<VchanControlPage>(nameof(VchanControlPage.SrvNotify)));
    }

    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);
}
