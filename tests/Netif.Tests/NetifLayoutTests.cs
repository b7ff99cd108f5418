using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Netif;
using TestSupport;

namespace Netif.Tests;

/// <summary>The C# wire structs and constants against what gcc says of <c>xen/io/netif.h</c>.</summary>
public sealed class NetifLayoutTests
{
    private static long Size<T>() where T : unmanaged => Unsafe.SizeOf<T>();

    private static long Off<T>(string field) => Marshal.OffsetOf<T>(field).ToInt64();

    [Fact]
    public void Structs_and_constants_match_the_C_header()
    {
        var probe = CProgram.Compile("probe.c").RunProbe();
        var gso = Off<NetifExtraInfo>(nameof(NetifExtraInfo.Gso));
        var mcast = Off<NetifExtraInfo>(nameof(NetifExtraInfo.Mcast));
        var hash = Off<NetifExtraInfo>(nameof(NetifExtraInfo.Hash));
        ProbeAssert.Matches(probe, new Dictionary<string, long>
        {
            ["sizeof_netif_tx_request"] = Size<NetifTxRequest>(),
            ["offsetof_netif_tx_request_gref"] = Off<NetifTxRequest>(nameof(NetifTxRequest.Gref)),
            ["offsetof_netif_tx_request_offset"] = Off<NetifTxRequest>(nameof(NetifTxRequest.Offset)),
            ["offsetof_netif_tx_request_flags"] = Off<NetifTxRequest>(nameof(NetifTxRequest.Flags)),
            ["offsetof_netif_tx_request_id"] = Off<NetifTxRequest>(nameof(NetifTxRequest.Id)),
            ["offsetof_netif_tx_request_size"] = Off<NetifTxRequest>(nameof(NetifTxRequest.Size)),

            ["sizeof_netif_tx_response"] = Size<NetifTxResponse>(),
            ["offsetof_netif_tx_response_id"] = Off<NetifTxResponse>(nameof(NetifTxResponse.Id)),
            ["offsetof_netif_tx_response_status"] = Off<NetifTxResponse>(nameof(NetifTxResponse.Status)),

            ["sizeof_netif_rx_request"] = Size<NetifRxRequest>(),
            ["offsetof_netif_rx_request_id"] = Off<NetifRxRequest>(nameof(NetifRxRequest.Id)),
            ["offsetof_netif_rx_request_pad"] = Off<NetifRxRequest>(nameof(NetifRxRequest.Pad)),
            ["offsetof_netif_rx_request_gref"] = Off<NetifRxRequest>(nameof(NetifRxRequest.Gref)),

            ["sizeof_netif_rx_response"] = Size<NetifRxResponse>(),
            ["offsetof_netif_rx_response_id"] = Off<NetifRxResponse>(nameof(NetifRxResponse.Id)),
            ["offsetof_netif_rx_response_offset"] = Off<NetifRxResponse>(nameof(NetifRxResponse.Offset)),
            ["offsetof_netif_rx_response_flags"] = Off<NetifRxResponse>(nameof(NetifRxResponse.Flags)),
            ["offsetof_netif_rx_response_status"] = Off<NetifRxResponse>(nameof(NetifRxResponse.Status)),

            ["sizeof_netif_extra_info"] = Size<NetifExtraInfo>(),
            ["offsetof_netif_extra_info_type"] = Off<NetifExtraInfo>(nameof(NetifExtraInfo.Type)),
            ["offsetof_netif_extra_info_flags"] = Off<NetifExtraInfo>(nameof(NetifExtraInfo.Flags)),
            ["offsetof_netif_extra_info_u.gso"] = gso,
            ["offsetof_netif_extra_info_u.gso.size"] = gso + Off<NetifGsoInfo>(nameof(NetifGsoInfo.Size)),
            ["offsetof_netif_extra_info_u.gso.type"] = gso + Off<NetifGsoInfo>(nameof(NetifGsoInfo.Type)),
            ["offsetof_netif_extra_info_u.gso.pad"] = gso + Off<NetifGsoInfo>(nameof(NetifGsoInfo.Pad)),
            ["offsetof_netif_extra_info_u.gso.features"] = gso + Off<NetifGsoInfo>(nameof(NetifGsoInfo.Features)),
            ["offsetof_netif_extra_info_u.mcast.addr"] = mcast + Off<NetifMcastInfo>(nameof(NetifMcastInfo.Addr)),
            ["offsetof_netif_extra_info_u.hash.type"] = hash + Off<NetifHashInfo>(nameof(NetifHashInfo.Type)),
            ["offsetof_netif_extra_info_u.hash.algorithm"] = hash + Off<NetifHashInfo>(nameof(NetifHashInfo.Algorithm)),
            ["offsetof_netif_extra_info_u.hash.value"] = hash + Off<NetifHashInfo>(nameof(NetifHashInfo.Value)),

            ["sizeof_xen_netif_ctrl_request"] = Size<NetifCtrlRequest>(),
            ["offsetof_xen_netif_ctrl_request_id"] = Off<NetifCtrlRequest>(nameof(NetifCtrlRequest.Id)),
            ["offsetof_xen_netif_ctrl_request_type"] = Off<NetifCtrlRequest>(nameof(NetifCtrlRequest.Type)),
            ["offsetof_xen_netif_ctrl_request_data"] = Off<NetifCtrlRequest>(nameof(NetifCtrlRequest.Data)),
            ["sizeof_xen_netif_ctrl_response"] = Size<NetifCtrlResponse>(),
            ["offsetof_xen_netif_ctrl_response_id"] = Off<NetifCtrlResponse>(nameof(NetifCtrlResponse.Id)),
            ["offsetof_xen_netif_ctrl_response_type"] = Off<NetifCtrlResponse>(nameof(NetifCtrlResponse.Type)),
            ["offsetof_xen_netif_ctrl_response_status"] = Off<NetifCtrlResponse>(nameof(NetifCtrlResponse.Status)),
            ["offsetof_xen_netif_ctrl_response_data"] = Off<NetifCtrlResponse>(nameof(NetifCtrlResponse.Data)),
            ["sizeof_xen_netif_gref"] = Size<NetifGref>(),
            ["offsetof_xen_netif_gref_ref"] = Off<NetifGref>(nameof(NetifGref.Ref)),
            ["offsetof_xen_netif_gref_flags"] = Off<NetifGref>(nameof(NetifGref.Flags)),
            ["offsetof_xen_netif_gref_status"] = Off<NetifGref>(nameof(NetifGref.Status)),

            ["NETTXF_csum_blank"] = (long)NetifTxFlags.CsumBlank,
            ["NETTXF_data_validated"] = (long)NetifTxFlags.DataValidated,
            ["NETTXF_more_data"] = (long)NetifTxFlags.MoreData,
            ["NETTXF_extra_info"] = (long)NetifTxFlags.ExtraInfo,
            ["NETRXF_data_validated"] = (long)NetifRxFlags.DataValidated,
            ["NETRXF_csum_blank"] = (long)NetifRxFlags.CsumBlank,
            ["NETRXF_more_data"] = (long)NetifRxFlags.MoreData,
            ["NETRXF_extra_info"] = (long)NetifRxFlags.ExtraInfo,
            ["NETRXF_gso_prefix"] = (long)NetifRxFlags.GsoPrefix,
            ["NETIF_RSP_DROPPED"] = (long)NetifStatus.Dropped,
            ["NETIF_RSP_ERROR"] = (long)NetifStatus.Error,
            ["NETIF_RSP_OKAY"] = (long)NetifStatus.Okay,
            ["NETIF_RSP_NULL"] = (long)NetifStatus.Null,
            ["XEN_NETIF_EXTRA_TYPE_NONE"] = (long)NetifExtraType.None,
            ["XEN_NETIF_EXTRA_TYPE_GSO"] = (long)NetifExtraType.Gso,
            ["XEN_NETIF_EXTRA_TYPE_MCAST_ADD"] = (long)NetifExtraType.McastAdd,
            ["XEN_NETIF_EXTRA_TYPE_MCAST_DEL"] = (long)NetifExtraType.McastDel,
            ["XEN_NETIF_EXTRA_TYPE_HASH"] = (long)NetifExtraType.Hash,
            ["XEN_NETIF_EXTRA_TYPE_MAX"] = (long)NetifExtraType.Max,
            ["XEN_NETIF_EXTRA_FLAG_MORE"] = (long)NetifExtraFlags.More,
            ["XEN_NETIF_GSO_TYPE_NONE"] = (long)NetifGsoType.None,
            ["XEN_NETIF_GSO_TYPE_TCPV4"] = (long)NetifGsoType.TcpV4,
            ["XEN_NETIF_GSO_TYPE_TCPV6"] = (long)NetifGsoType.TcpV6,
            ["XEN_NETIF_MAX_TX_SIZE"] = NetifConstants.MaxTxSize,
            ["XEN_NETIF_NR_SLOTS_MIN"] = NetifConstants.NrSlotsMin,
            ["XEN_NETIF_CTRLF_GREF_readonly"] = NetifGref.ReadOnly,
            ["XEN_NETIF_CTRL_TYPE_INVALID"] = (long)NetifCtrlType.Invalid,
            ["XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS"] = (long)NetifCtrlType.GetHashFlags,
            ["XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS"] = (long)NetifCtrlType.SetHashFlags,
            ["XEN_NETIF_CTRL_TYPE_SET_HASH_KEY"] = (long)NetifCtrlType.SetHashKey,
            ["XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE"] = (long)NetifCtrlType.GetHashMappingSize,
            ["XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE"] = (long)NetifCtrlType.SetHashMappingSize,
            ["XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING"] = (long)NetifCtrlType.SetHashMapping,
            ["XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM"] = (long)NetifCtrlType.SetHashAlgorithm,
            ["XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE"] = (long)NetifCtrlType.GetGrefMappingSize,
            ["XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING"] = (long)NetifCtrlType.AddGrefMapping,
            ["XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING"] = (long)NetifCtrlType.DelGrefMapping,
            ["XEN_NETIF_CTRL_STATUS_SUCCESS"] = (long)NetifCtrlStatus.Success,
            ["XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED"] = (long)NetifCtrlStatus.NotSupported,
            ["XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER"] = (long)NetifCtrlStatus.InvalidParameter,
            ["XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW"] = (long)NetifCtrlStatus.BufferOverflow,

            ["ring_size_netif_tx"] = NetifConstants.TxRingSize,
            ["ring_size_netif_rx"] = NetifConstants.RxRingSize,
            ["ring_size_xen_netif_ctrl"] = NetifConstants.CtrlRingSize,
        });
    }

    [Fact]
    public void Inline_arrays_have_the_C_lengths()
    {
        Assert.Equal(6, Unsafe.SizeOf<MacAddressBytes>());
        Assert.Equal(4, Unsafe.SizeOf<NetifHashValue>());
        Assert.Equal(12, Unsafe.SizeOf<NetifCtrlData>());
    }

    [Fact]
    public void A_tx_request_reads_the_bytes_a_C_frontend_writes()
    {
        // gref 0x11223344, offset 0x0102, flags more_data|extra_info, id 7, size 1514: little-endian on the wire.
        byte[] wire = [0x44, 0x33, 0x22, 0x11, 0x02, 0x01, 0x0C, 0x00, 0x07, 0x00, 0xEA, 0x05];
        var request = MemoryMarshal.Read<NetifTxRequest>(wire);
        Assert.Equal(0x11223344u, request.Gref.Value);
        Assert.Equal(0x0102, request.Offset);
        Assert.Equal(NetifTxFlags.MoreData | NetifTxFlags.ExtraInfo, request.Flags);
        Assert.Equal(7, request.Id);
        Assert.Equal(1514, request.Size);
    }
}
