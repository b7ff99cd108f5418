namespace Netif;

/// <summary>The kind of an extra-info slot (<c>XEN_NETIF_EXTRA_TYPE_*</c>).</summary>
public enum NetifExtraType : byte
{
    /// <summary><c>XEN_NETIF_EXTRA_TYPE_NONE</c>: never used; invalid.</summary>
    None = 0,
    /// <summary><c>XEN_NETIF_EXTRA_TYPE_GSO</c>: segmentation offload, in <see cref="NetifExtraInfo.Gso"/>.</summary>
    Gso = 1,
    /// <summary><c>XEN_NETIF_EXTRA_TYPE_MCAST_ADD</c>: join a multicast address, in <see cref="NetifExtraInfo.Mcast"/>.</summary>
    McastAdd = 2,
    /// <summary><c>XEN_NETIF_EXTRA_TYPE_MCAST_DEL</c>: leave a multicast address, in <see cref="NetifExtraInfo.Mcast"/>.</summary>
    McastDel = 3,
    /// <summary><c>XEN_NETIF_EXTRA_TYPE_HASH</c>: the packet's hash, in <see cref="NetifExtraInfo.Hash"/>.</summary>
    Hash = 4,
    /// <summary><c>XEN_NETIF_EXTRA_TYPE_MAX</c>: one past the last known type.</summary>
    Max = 5,
}

/// <summary>Flags of an extra-info slot (<c>XEN_NETIF_EXTRA_FLAG_*</c>).</summary>
[Flags]
public enum NetifExtraFlags : byte
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary><c>XEN_NETIF_EXTRA_FLAG_MORE</c>: another extra-info slot follows.</summary>
    More = 1 << 0,
}

/// <summary>The segmentation offload kind (<c>XEN_NETIF_GSO_TYPE_*</c>).</summary>
public enum NetifGsoType : byte
{
    /// <summary><c>XEN_NETIF_GSO_TYPE_NONE</c>: no offload.</summary>
    None = 0,
    /// <summary><c>XEN_NETIF_GSO_TYPE_TCPV4</c>: TCP over IPv4.</summary>
    TcpV4 = 1,
    /// <summary><c>XEN_NETIF_GSO_TYPE_TCPV6</c>: TCP over IPv6.</summary>
    TcpV6 = 2,
}
