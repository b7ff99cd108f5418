using System.Runtime.CompilerServices;
using TestSupport;

namespace Xen.Store.Tests;

public class WireConformanceTests
{
    [Fact]
    public void Message_types_errors_limits_and_layouts_match_xs_wire_h()
    {
        var probe = CProgram.Compile("probe.c").RunProbe();
        var expected = new Dictionary<string, long>
        {
            ["XENSTORE_PAYLOAD_MAX"] = XsWire.PayloadMax,
            ["XENSTORE_ABS_PATH_MAX"] = XsWire.AbsPathMax,
            ["XENSTORE_REL_PATH_MAX"] = XsWire.RelPathMax,
            ["XENSTORE_RING_SIZE"] = SharedMemoryRing.XenstoreRingLayout.RingSize,
            ["sizeof_xsd_sockmsg"] = Unsafe.SizeOf<XsWireHeader>(),
            ["xsd_sockmsg_type"] = 0,
            ["xsd_sockmsg_req_id"] = 4,
            ["xsd_sockmsg_tx_id"] = 8,
            ["xsd_sockmsg_len"] = 12,
            ["sizeof_xenstore_domain_interface"] = SharedMemoryRing.XenstoreRingLayout.Size,
            ["xenstore_domain_interface_req"] = SharedMemoryRing.XenstoreRingLayout.RequestOffset,
            ["xenstore_domain_interface_rsp"] = SharedMemoryRing.XenstoreRingLayout.ResponseOffset,
            ["xenstore_domain_interface_req_cons"] = SharedMemoryRing.XenstoreRingLayout.ReqConsOffset,
            ["xenstore_domain_interface_req_prod"] = SharedMemoryRing.XenstoreRingLayout.ReqProdOffset,
            ["xenstore_domain_interface_rsp_cons"] = SharedMemoryRing.XenstoreRingLayout.RspConsOffset,
            ["xenstore_domain_interface_rsp_prod"] = SharedMemoryRing.XenstoreRingLayout.RspProdOffset,
            ["xenstore_domain_interface_server_features"] = SharedMemoryRing.XenstoreRingLayout.ServerFeaturesOffset,
            ["xenstore_domain_interface_connection"] = SharedMemoryRing.XenstoreRingLayout.ConnectionOffset,
            ["xenstore_domain_interface_error"] = SharedMemoryRing.XenstoreRingLayout.ErrorOffset,
            ["error_count"] = Enum.GetValues<XsError>().Length,
        };
        foreach (var type in Enum.GetValues<XsMessageType>())
            expected["type_" + WireName(type)] = (long)type;
        foreach (var error in Enum.GetValues<XsError>())
            expected["error_" + error.Name()] = (long)error;
        ProbeAssert.Matches(probe, expected);
        Assert.Equal(XsWireHeader.Size, Unsafe.SizeOf<XsWireHeader>());
    }

    [Fact]
    public void Header_round_trips_little_endian()
    {
        Span<byte> bytes = stackalloc byte[16];
        new XsWireHeader(XsMessageType.Write, 0x01020304, 7, 4096).Write(bytes);
        Assert.Equal(new byte[] { 11, 0, 0, 0, 4, 3, 2, 1, 7, 0, 0, 0, 0, 16, 0, 0 }, bytes.ToArray());
        var back = XsWireHeader.Read(bytes);
        Assert.Equal((XsMessageType.Write, 0x01020304u, 7u, 4096u), (back.Type, back.ReqId, back.TxId, back.Len));
    }

    [Fact]
    public void Error_names_parse_and_unknown_names_become_EIO()
    {
        Assert.Equal(XsError.EAGAIN, XsWire.ParseError("EAGAIN\0"u8));
        Assert.Equal(XsError.EIO, XsWire.ParseError("EWHATEVER\0"u8));
        Assert.Equal(XsError.EIO, XsWire.ParseError("22\0"u8));
    }

    // GetPerms -> GET_PERMS: the C names are the C# names in upper snake case.
    private static string WireName(XsMessageType type) =>
        string.Concat(type.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : char.ToUpperInvariant(c).ToString()));
}
