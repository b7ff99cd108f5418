using System.Net.NetworkInformation;
using Microsoft.Extensions.Logging;

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

    /// <summary>Where connections and a peer's protocol faults are logged; none if null.</summary>
    public ILogger? Logger { get; init; }
}

/// <summary>How a netback is set up.</summary>
public sealed record NetbackOptions
{
    /// <summary>What the backend offers.</summary>
    public NetbackFeatures Features { get; init; } = new();

    /// <summary>A name for the interface in metrics and messages.</summary>
    public string Name { get; init; } = "vif";

    /// <summary>
    /// Keep the frontend's data pages mapped across frames, up to <see cref="MappingCacheSize"/> per
    /// queue and direction, rather than mapping each frame's pages and unmapping them before its
    /// responses. Only for a frontend that keeps its grants for the whole connection, as this
    /// project's netfront does. netif has no persistent grants: Linux's netfront ends each grant as it
    /// reads the response and stops using a device whose backend still maps the page. Off by default.
    /// </summary>
    public bool KeepMappings { get; init; }

    /// <summary>Grant mappings kept per queue and direction with <see cref="KeepMappings"/>.</summary>
    public int MappingCacheSize { get; init; } = 1024;

    /// <summary>Where connections and a peer's protocol faults are logged; none if null.</summary>
    public ILogger? Logger { get; init; }
}
