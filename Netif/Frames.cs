using Xen.Gnt;

namespace Netif;

/// <summary>Sizes of Ethernet frames on the netif rings.</summary>
public static class Frames
{
    /// <summary>An Ethernet header: two addresses and the type.</summary>
    public const int EthernetHeader = 14;

    /// <summary>Room for a VLAN tag on top of the MTU.</summary>
    public const int VlanTag = 4;

    /// <summary>The largest frame on the rings (<c>XEN_NETIF_MAX_TX_SIZE</c>).</summary>
    public const int MaxFrame = NetifConstants.MaxTxSize;

    /// <summary>The most data slots a frame may take, tx or rx: <c>XEN_NETIF_NR_SLOTS_MIN</c>, enough for
    /// the largest frame in whole pages plus one.</summary>
    public const int MaxSlots = NetifConstants.NrSlotsMin;

    /// <summary>The most extra-info slots after a frame's first: one per known type.</summary>
    public const int MaxExtras = (int)NetifExtraType.Max - 1;

    /// <summary>Data slots a frame of <paramref name="length"/> bytes takes in whole pages.</summary>
    public static int SlotsFor(int length) => (length + PageBuffer.PageSize - 1) / PageBuffer.PageSize;
}
