using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;

namespace Xen.InHeap;

/// <summary>
/// The in-heap backends in the shape every backend package shares for build-time selection: a
/// project that references <c>Xen.InHeap</c> sees this class as <c>XenBackend</c>, and
/// <see cref="InHeapEvents"/> and <see cref="InHeapMemory"/> as <c>XenEvents</c> and <c>XenMemory</c>
/// (global using aliases from the package's <c>buildTransitive</c> targets; see <c>docs/packages.md</c>).
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

    /// <summary>The event hub every domain opened with <see cref="OpenEvents"/> lives on.</summary>
    public static InHeapEventHub EventHub { get; } = new();

    /// <summary>The grant hub every domain opened with <see cref="OpenMemory"/> lives on.</summary>
    public static InHeapGrantHub GrantHub { get; } = new();

    /// <summary>Opens the event channels of <paramref name="domain"/> on <see cref="EventHub"/>.</summary>
    /// <exception cref="InvalidOperationException">The domain is already open in this process.</exception>
    public static InHeapEvents OpenEvents(ushort domain) => EventHub.Open(domain);

    /// <summary>
    /// Opens the grant table of the domain that <paramref name="events"/> acts as, on <see cref="GrantHub"/>,
    /// with its unmap notifications sent on <paramref name="events"/>. Dispose it before the events.
    /// </summary>
    /// <exception cref="InvalidOperationException">The domain's memory is already open in this process.</exception>
    public static InHeapMemory OpenMemory(InHeapEvents events) =>
        GrantHub.Open(events.LocalDomain, InHeapDomain.SendOn(events));
}
