using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;

namespace Xen.InHeap;

/// <summary>
/// The in-heap backend in the shape every backend package shares for build-time selection: a
/// project that references <c>Xen.InHeap</c> sees this class as <c>XenBackend</c>,
/// <see cref="InHeapDomain"/> as <c>XenDomain</c>, and <see cref="InHeapEvents"/> and
/// <see cref="InHeapMemory"/> as <c>XenEvents</c> and <c>XenMemory</c> (global using aliases from the
/// package's <c>buildTransitive</c> targets; see <c>docs/packages.md</c>).
/// </summary>
/// <remarks>
/// In-heap domains meet only inside one process: every domain opened here lives on the process-wide
/// <see cref="EventHub"/> and <see cref="GrantHub"/>, so <see cref="CrossProcess"/> is false and a
/// program runs both ends of a connection in this process.
/// </remarks>
public static class InHeapBackend
{
    /// <summary>The value of the MSBuild property <c>XenBackend</c> that selects this backend.</summary>
    public const string Name = "InHeap";

    /// <summary>Whether two processes can be two domains: false, the hubs live in this process.</summary>
    public static bool CrossProcess => false;

    /// <summary>The event hub every domain opened without one of its own lives on.</summary>
    public static InHeapEventHub EventHub { get; } = new();

    /// <summary>The grant hub every domain opened without one of its own lives on.</summary>
    public static InHeapGrantHub GrantHub { get; } = new();

    /// <summary>
    /// Opens <paramref name="domain"/> (null: 0) on the process-wide hubs, with Xenstore at
    /// <paramref name="xenstore"/> (null: looked up); the same call on every backend.
    /// </summary>
    /// <exception cref="InvalidOperationException">The domain is already open in this process.</exception>
    public static ValueTask<InHeapDomain> OpenDomainAsync(ushort? domain = null, string? xenstore = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(InHeapDomain.Open(new InHeapDomainOptions { Domain = domain ?? 0, Xenstore = xenstore }));
    }
}
