/* Prints the sizes, offsets and constants of netif.h as name=value lines, for NetifLayoutTests. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <xen/io/netif.h>

#define SIZE(t) printf("sizeof_%s=%zu\n", #t, sizeof(struct t))
#define OFF(t, f) printf("offsetof_%s_%s=%zu\n", #t, #f, offsetof(struct t, f))
#define CONST(c) printf("%s=%lld\n", #c, (long long)(c))

int main(void)
{
    SIZE(netif_tx_request);
    OFF(netif_tx_request, gref);
    OFF(netif_tx_request, offset);
    OFF(netif_tx_request, flags);
    OFF(netif_tx_request, id);
    OFF(netif_tx_request, size);

    SIZE(netif_tx_response);
    OFF(netif_tx_response, id);
    OFF(netif_tx_response, status);

    SIZE(netif_rx_request);
    OFF(netif_rx_request, id);
    OFF(netif_rx_request, pad);
    OFF(netif_rx_request, gref);

    SIZE(netif_rx_response);
    OFF(netif_rx_response, id);
    OFF(netif_rx_response, offset);
    OFF(netif_rx_response, flags);
    OFF(netif_rx_response, status);

    SIZE(netif_extra_info);
    OFF(netif_extra_info, type);
    OFF(netif_extra_info, flags);
    OFF(netif_extra_info, u.gso);
    OFF(netif_extra_info, u.gso.size);
    OFF(netif_extra_info, u.gso.type);
    OFF(netif_extra_info, u.gso.pad);
    OFF(netif_extra_info, u.gso.features);
    OFF(netif_extra_info, u.mcast.addr);
    OFF(netif_extra_info, u.hash.type);
    OFF(netif_extra_info, u.hash.algorithm);
    OFF(netif_extra_info, u.hash.value);

    SIZE(xen_netif_ctrl_request);
    OFF(xen_netif_ctrl_request, id);
    OFF(xen_netif_ctrl_request, type);
    OFF(xen_netif_ctrl_request, data);
    SIZE(xen_netif_ctrl_response);
    OFF(xen_netif_ctrl_response, id);
    OFF(xen_netif_ctrl_response, type);
    OFF(xen_netif_ctrl_response, status);
    OFF(xen_netif_ctrl_response, data);
    SIZE(xen_netif_gref);
    OFF(xen_netif_gref, ref);
    OFF(xen_netif_gref, flags);
    OFF(xen_netif_gref, status);

    CONST(NETTXF_csum_blank);
    CONST(NETTXF_data_validated);
    CONST(NETTXF_more_data);
    CONST(NETTXF_extra_info);
    CONST(NETRXF_data_validated);
    CONST(NETRXF_csum_blank);
    CONST(NETRXF_more_data);
    CONST(NETRXF_extra_info);
    CONST(NETRXF_gso_prefix);
    CONST(NETIF_RSP_DROPPED);
    CONST(NETIF_RSP_ERROR);
    CONST(NETIF_RSP_OKAY);
    CONST(NETIF_RSP_NULL);
    CONST(XEN_NETIF_EXTRA_TYPE_NONE);
    CONST(XEN_NETIF_EXTRA_TYPE_GSO);
    CONST(XEN_NETIF_EXTRA_TYPE_MCAST_ADD);
    CONST(XEN_NETIF_EXTRA_TYPE_MCAST_DEL);
    CONST(XEN_NETIF_EXTRA_TYPE_HASH);
    CONST(XEN_NETIF_EXTRA_TYPE_MAX);
    CONST(XEN_NETIF_EXTRA_FLAG_MORE);
    CONST(XEN_NETIF_GSO_TYPE_NONE);
    CONST(XEN_NETIF_GSO_TYPE_TCPV4);
    CONST(XEN_NETIF_GSO_TYPE_TCPV6);
    CONST(XEN_NETIF_MAX_TX_SIZE);
    CONST(XEN_NETIF_NR_SLOTS_MIN);
    CONST(XEN_NETIF_CTRLF_GREF_readonly);
    CONST(XEN_NETIF_CTRL_TYPE_INVALID);
    CONST(XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS);
    CONST(XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS);
    CONST(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY);
    CONST(XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE);
    CONST(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE);
    CONST(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING);
    CONST(XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM);
    CONST(XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE);
    CONST(XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING);
    CONST(XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING);
    CONST(XEN_NETIF_CTRL_STATUS_SUCCESS);
    CONST(XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
    CONST(XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
    CONST(XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW);

    printf("ring_size_netif_tx=%lu\n", (unsigned long)__CONST_RING_SIZE(netif_tx, 4096));
    printf("ring_size_netif_rx=%lu\n", (unsigned long)__CONST_RING_SIZE(netif_rx, 4096));
    printf("ring_size_xen_netif_ctrl=%lu\n", (unsigned long)__CONST_RING_SIZE(xen_netif_ctrl, 4096));
    return 0;
}
