namespace Netif;

/// <summary>Limits of the network device protocol, from <c>netif.h</c>.</summary>
public static class NetifConstants
{
    /// <summary><c>XEN_NETIF_MAX_TX_SIZE</c>: the largest frame a tx request chain may carry.</summary>
    public const int MaxTxSize = 0xFFFF;

    /// <summary><c>XEN_NETIF_NR_SLOTS_MIN</c>: the fewest slots per frame a backend must accept.</summary>
    public const int NrSlotsMin = 18;

    /// <summary>Entries of a one-page tx ring (<c>__CONST_RING_SIZE(netif_tx, 4096)</c>).</summary>
    public const int TxRingSize = 256;

    /// <summary>Entries of a one-page rx ring (<c>__CONST_RING_SIZE(netif_rx, 4096)</c>).</summary>
    public const int RxRingSize = 256;

    /// <summary>Entries of a one-page control ring (<c>__CONST_RING_SIZE(xen_netif_ctrl, 4096)</c>).</summary>
    public const int CtrlRingSize = 128;
}
