using System.Net;
using Microsoft.Extensions.Logging;

namespace Fbif.Vnc;

/// <summary>Where and how the VNC server listens.</summary>
public sealed class VncServerOptions
{
    /// <summary>The address and port; loopback port 5900 unless told otherwise, so that only this host can look.</summary>
    public IPEndPoint EndPoint { get; init; } = new(IPAddress.Loopback, 5900);

    /// <summary>The desktop name sent in ServerInit.</summary>
    public string Name { get; init; } = "mirage";

    /// <summary>How many clients at once; more are refused.</summary>
    public int MaxClients { get; init; } = 8;

    /// <summary>Where the server logs; null logs nothing.</summary>
    public ILogger? Logger { get; init; }
}
