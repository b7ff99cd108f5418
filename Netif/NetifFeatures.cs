namespace Netif;

/// <summary>
/// What a netback offers, as it publishes under <c>backend/vif/&lt;fe&gt;/&lt;n&gt;/</c>:
/// <c>feature-rx-copy</c> (always), <c>feature-sg</c>, <c>feature-gso-tcpv4</c>, <c>feature-gso-tcpv6</c>,
/// <c>feature-ipv6-csum-offload</c>, <c>feature-split-event-channels</c>, <c>multi-queue-max-queues</c>, <c>mtu</c>.
/// </summary>
public sealed record NetbackFeatures
{
    /// <summary>The most queues this backend serves; at least 1.</summary>
    public const int QueueLimit = 16;

    /// <summary>Frames over several slots (<c>feature-sg</c>).</summary>
    public bool Sg { get; init; } = true;

    /// <summary>TCPv4 segmentation offload (<c>feature-gso-tcpv4</c>).</summary>
    public bool GsoTcpV4 { get; init; } = true;

    /// <summary>TCPv6 segmentation offload (<c>feature-gso-tcpv6</c>).</summary>
    public bool GsoTcpV6 { get; init; } = true;

    /// <summary>Checksum offload for IPv6 (<c>feature-ipv6-csum-offload</c>).</summary>
    public bool Ipv6CsumOffload { get; init; } = true;

    /// <summary>One event channel per direction (<c>feature-split-event-channels</c>).</summary>
    public bool SplitEventChannels { get; init; } = true;

    /// <summary>The most queues the frontend may ask for (<c>multi-queue-max-queues</c>).</summary>
    public int MaxQueues { get; init; } = 4;

    /// <summary>The link's MTU (<c>mtu</c>): the largest IP packet, without the Ethernet header.</summary>
    public int Mtu { get; init; } = 1500;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public void Validate()
    {
        if (MaxQueues is < 1 or > QueueLimit)
            throw new ArgumentOutOfRangeException(nameof(MaxQueues), MaxQueues, $"A backend serves 1 to {QueueLimit} queues.");
        if (Mtu is < 68 or > NetifConstants.MaxTxSize - Frames.EthernetHeader)
            throw new ArgumentOutOfRangeException(nameof(Mtu), Mtu, "The MTU must be between 68 and 65521 bytes.");
    }
}

/// <summary>
/// What a netfront asked for, as it publishes under <c>device/vif/&lt;n&gt;/</c>: <c>request-rx-copy</c>
/// (always), <c>feature-rx-notify</c> (always), <c>feature-sg</c>, <c>feature-gso-tcpv4</c>,
/// <c>feature-gso-tcpv6</c>, <c>feature-ipv6-csum-offload</c>. Each is on only if the backend offers it too.
/// </summary>
public sealed record NetfrontFeatures
{
    /// <summary>The frontend receives frames over several slots (<c>feature-sg</c>).</summary>
    public bool Sg { get; init; }

    /// <summary>The frontend takes TCPv4 GSO frames on rx (<c>feature-gso-tcpv4</c>).</summary>
    public bool GsoTcpV4 { get; init; }

    /// <summary>The frontend takes TCPv6 GSO frames on rx (<c>feature-gso-tcpv6</c>).</summary>
    public bool GsoTcpV6 { get; init; }

    /// <summary>The frontend takes IPv6 frames with a blank checksum (<c>feature-ipv6-csum-offload</c>).</summary>
    public bool Ipv6CsumOffload { get; init; }

    /// <summary>Whether the frontend takes GSO frames of <paramref name="type"/>.</summary>
    public bool Accepts(NetifGsoType type) => type switch
    {
        NetifGsoType.TcpV4 => GsoTcpV4,
        NetifGsoType.TcpV6 => GsoTcpV6,
        _ => false,
    };
}
