using System.Net.NetworkInformation;

namespace Netif;

/// <summary>How a netfront is set up; each feature is used only if the backend offers it too.</summary>
public sealed record NetfrontOptions
{
    /// <summary>The interface's Ethernet address (Xenstore's <c>mac</c>); a locally administered one if null.</summary>
    public PhysicalAddress? Mac { get; init; }

    /// <summary>Queues wanted; the backend's <c>multi-queue-max-queues</c> caps it.</summary>
    public int Queues { get; init; } = 1;

    /// <summary>Ask for one event channel per direction when the backend offers it.</summary>
    public bool SplitEventChannels { get; init; } = true;

    /// <summary>Use scatter-gather when the backend offers it.</summary>
    public bool Sg { get; init; } = true;

    /// <summary>Take TCPv4 GSO frames when the backend offers it.</summary>
    public bool GsoTcpV4 { get; init; } = true;

    /// <summary>Take TCPv6 GSO frames when the backend offers it.</summary>
    public bool GsoTcpV6 { get; init; } = true;

    /// <summary>A name for the interface in metrics and messages.</summary>
    public string Name { get; init; } = "vif";
}

/// <summary>How a netback is set up.</summary>
public sealed record NetbackOptions
{
    /// <summary>What the backend offers.</summary>
    public NetbackFeatures Features { get; init; } = new();

    /// <summary>A name for the interface in metrics and messages.</summary>
    public string Name { get; init; } = "vif";
}
