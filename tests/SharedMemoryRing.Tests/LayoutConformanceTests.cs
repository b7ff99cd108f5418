using System.Runtime.InteropServices;
using TestSupport;
using Xen.Gnt;

namespace SharedMemoryRing.Tests;

/// <summary>
/// The C# layouts and constants against Debian's libxen-dev headers: a C probe compiled with gcc
/// prints what ring.h, grant_table.h, console.h and xs_wire.h say, and every value is compared.
/// </summary>
public sealed class LayoutConformanceTests
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Eight { public uint A, B; }

    [StructLayout(LayoutKind.Sequential)]
    private struct Sixteen { public uint A, B, C, D; }

    [Fact]
    public void Ring_grant_console_and_xenstore_layouts_match_the_xen_headers()
    {
        var probe = CProgram.Compile("c/ring_probe.c").RunProbe();
        var expected = new Dictionary<string, long>
        {
            ["sring.req_prod"] = Offset(nameof(SharedRingHeader.ReqProd)),
            ["sring.req_event"] = Offset(nameof(SharedRingHeader.ReqEvent)),
            ["sring.rsp_prod"] = Offset(nameof(SharedRingHeader.RspProd)),
            ["sring.rsp_event"] = Offset(nameof(SharedRingHeader.RspEvent)),
            ["sring.pvt"] = SharedRingLayout.PrivateOffset,
            ["sizeof.pvt"] = SharedRingLayout.PrivateSize,
            ["sring.pad"] = SharedRingLayout.PaddingOffset,
            ["sizeof.pad"] = SharedRingLayout.PaddingSize,
            ["sring.ring"] = SharedRingLayout.EntriesOffset,
            ["sizeof.RING_IDX"] = sizeof(uint),
            ["slot.test"] = SharedRingLayout.SlotSize<TestRequest, TestResponse>(),
            ["slot.big"] = SharedRingLayout.SlotSize<BigRequest, BigResponse>(),
            ["entries.8.4096"] = SharedRingLayout.EntriesFor(4096, SharedRingLayout.SlotSize<Eight, Eight>()),
            ["entries.12.4096"] = SharedRingLayout.EntriesFor(4096, SharedRingLayout.SlotSize<TestRequest, TestResponse>()),
            ["entries.16.4096"] = SharedRingLayout.EntriesFor(4096, SharedRingLayout.SlotSize<Sixteen, Eight>()),
            ["entries.112.4096"] = SharedRingLayout.EntriesFor(4096, SharedRingLayout.SlotSize<BigRequest, BigResponse>()),
            ["entries.112.8192"] = SharedRingLayout.EntriesFor(8192, SharedRingLayout.SlotSize<BigRequest, BigResponse>()),
            ["entries.112.65536"] = SharedRingLayout.EntriesFor(65536, SharedRingLayout.SlotSize<BigRequest, BigResponse>()),
            ["entries.12.160"] = SharedRingLayout.EntriesFor(160, SharedRingLayout.SlotSize<TestRequest, TestResponse>()),
            ["entries.12.1048576"] = SharedRingLayout.EntriesFor(1048576, SharedRingLayout.SlotSize<TestRequest, TestResponse>()),

            ["GNTST_okay"] = (long)GrantStatus.Okay,
            ["GNTST_general_error"] = (long)GrantStatus.GeneralError,
            ["GNTST_bad_domain"] = (long)GrantStatus.BadDomain,
            ["GNTST_bad_gntref"] = (long)GrantStatus.BadGntref,
            ["GNTST_bad_handle"] = (long)GrantStatus.BadHandle,
            ["GNTST_bad_virt_addr"] = (long)GrantStatus.BadVirtAddr,
            ["GNTST_bad_dev_addr"] = (long)GrantStatus.BadDevAddr,
            ["GNTST_no_device_space"] = (long)GrantStatus.NoDeviceSpace,
            ["GNTST_permission_denied"] = (long)GrantStatus.PermissionDenied,
            ["GNTST_bad_page"] = (long)GrantStatus.BadPage,
            ["GNTST_bad_copy_arg"] = (long)GrantStatus.BadCopyArg,
            ["GNTST_address_too_big"] = (long)GrantStatus.AddressTooBig,
            ["GNTST_eagain"] = (long)GrantStatus.Eagain,
            ["GNTST_no_space"] = (long)GrantStatus.NoSpace,
            ["GNTTAB_NR_RESERVED_ENTRIES"] = GrantRef.FirstUnreserved,
            ["GNTTAB_RESERVED_CONSOLE"] = GrantRef.Console.Value,
            ["GNTTAB_RESERVED_XENSTORE"] = GrantRef.Xenstore.Value,

            ["xencons.in"] = ConsoleRingLayout.InOffset,
            ["xencons.in.size"] = ConsoleRingLayout.InSize,
            ["xencons.out"] = ConsoleRingLayout.OutOffset,
            ["xencons.out.size"] = ConsoleRingLayout.OutSize,
            ["xencons.in_cons"] = ConsoleRingLayout.InConsOffset,
            ["xencons.in_prod"] = ConsoleRingLayout.InProdOffset,
            ["xencons.out_cons"] = ConsoleRingLayout.OutConsOffset,
            ["xencons.out_prod"] = ConsoleRingLayout.OutProdOffset,
            ["sizeof.xencons"] = ConsoleRingLayout.Size,

            ["XENSTORE_RING_SIZE"] = XenstoreRingLayout.RingSize,
            ["xenstore.req"] = XenstoreRingLayout.RequestOffset,
            ["xenstore.rsp"] = XenstoreRingLayout.ResponseOffset,
            ["xenstore.req_cons"] = XenstoreRingLayout.ReqConsOffset,
            ["xenstore.req_prod"] = XenstoreRingLayout.ReqProdOffset,
            ["xenstore.rsp_cons"] = XenstoreRingLayout.RspConsOffset,
            ["xenstore.rsp_prod"] = XenstoreRingLayout.RspProdOffset,
            ["xenstore.server_features"] = XenstoreRingLayout.ServerFeaturesOffset,
            ["xenstore.connection"] = XenstoreRingLayout.ConnectionOffset,
            ["xenstore.error"] = XenstoreRingLayout.ErrorOffset,
            ["sizeof.xenstore"] = XenstoreRingLayout.Size,
        };
        ProbeAssert.Matches(probe, expected);
    }

    private static long Offset(string field) => (long)Marshal.OffsetOf<SharedRingHeader>(field);
}
