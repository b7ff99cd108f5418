namespace Netif;

/// <summary>Status of a tx or rx response (<c>NETIF_RSP_*</c>). On rx a positive status is the length received.</summary>
public enum NetifStatus : short
{
    /// <summary><c>NETIF_RSP_DROPPED</c>: the packet was dropped.</summary>
    Dropped = -2,
    /// <summary><c>NETIF_RSP_ERROR</c>: the request failed.</summary>
    Error = -1,
    /// <summary><c>NETIF_RSP_OKAY</c>: the request succeeded.</summary>
    Okay = 0,
    /// <summary><c>NETIF_RSP_NULL</c>: the response of a slot that held extra info, not packet data.</summary>
    Null = 1,
}
