namespace Netif.Tests;

/// <summary>A fact that needs root (network namespaces, TAP devices); skipped, and said so, otherwise.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !File.Exists("/dev/net/tun"))
            Skip = "Needs root and /dev/net/tun.";
    }
}
