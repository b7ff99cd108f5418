using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;

namespace Xen.Unix;

/// <summary>
/// The Unix backend in the shape every backend package shares for build-time selection: a project
/// that references <c>Xen.Unix</c> sees this class as <c>XenBackend</c>, <see cref="UnixDomain"/> as
/// <c>XenDomain</c>, and <see cref="UnixEvents"/> and <see cref="UnixMemory"/> as <c>XenEvents</c> and
/// <c>XenMemory</c> (global using aliases from the package's <c>buildTransitive</c> targets; see
/// <c>docs/packages.md</c>). For the other options use <see cref="UnixDomain.Open"/>.
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

    /// <summary>
    /// Opens <paramref name="domain"/> (null: <c>XEN_DOMID</c>) under <c>XEN_ROOT</c>, with Xenstore at
    /// <paramref name="xenstore"/> (null: looked up); the same call on every backend.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another live process already is <paramref name="domain"/>.</exception>
    /// <exception cref="IOException">The root folder cannot be used.</exception>
    public static ValueTask<UnixDomain> OpenDomainAsync(ushort? domain = null, string? xenstore = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(UnixDomain.Open(new UnixDomainOptions { Domain = domain, Xenstore = xenstore }));
    }
}
