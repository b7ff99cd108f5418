using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;

namespace Xen.Unix;

/// <summary>
/// The Unix backends in the shape every backend package shares for build-time selection: a project
/// that references <c>Xen.Unix</c> sees this class as <c>XenBackend</c>, and <see cref="UnixEvents"/>
/// and <see cref="UnixMemory"/> as <c>XenEvents</c> and <c>XenMemory</c> (global using aliases from
/// the package's <c>buildTransitive</c> targets; see <c>docs/packages.md</c>). For the other options
/// construct the backends yourself or use <see cref="XenUnixServiceCollectionExtensions.AddXenUnix"/>.
/// </summary>
/// <remarks>
/// Each process is a domain. Processes meet in the root folder <c>XEN_ROOT</c> names, else a private
/// folder on tmpfs (<c>/dev/shm/mirage-xen-&lt;uid&gt;</c>); two live processes may not claim one id.
/// </remarks>
public static class UnixBackend
{
    /// <summary>The value of the MSBuild property <c>XenBackend</c> that selects this backend.</summary>
    public const string Name = "Unix";

    /// <summary>Whether two processes can be two domains: true, that is what this backend is for.</summary>
    public static bool CrossProcess => true;

    /// <summary>Opens the event channels of <paramref name="domain"/>, claiming the id in the root folder.</summary>
    /// <exception cref="InvalidOperationException">Another live process already is <paramref name="domain"/>.</exception>
    /// <exception cref="IOException">The root folder cannot be used.</exception>
    public static UnixEvents OpenEvents(ushort domain) => new(new UnixEventsOptions { Domain = domain });

    /// <summary>
    /// Opens the grant table of the domain that <paramref name="events"/> acts as, with its unmap
    /// notifications sent on <paramref name="events"/>. Dispose it before the events.
    /// </summary>
    public static UnixMemory OpenMemory(UnixEvents events) =>
        new(new UnixMemoryOptions { Domain = events.LocalDomain }, port => events.Send(new Channel(new Port(port))));
}
