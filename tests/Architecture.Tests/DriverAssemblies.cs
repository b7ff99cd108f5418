namespace Architecture.Tests;

/// <summary>The driver assemblies that must never reference a backend. Extend the list as drivers arrive.</summary>
public static class DriverAssemblies
{
    /// <summary>Assembly names of the drivers; each must also be a ProjectReference of this test project.</summary>
    public static readonly string[] Names =
    [
        "Netif",
        "Blkif",
        "SharedMemoryRing",
        "Xen.Store",
        "Xen.Store.Server",
        "Vchan",
        "Fbif",
        "Kbdif",
    ];
}
