using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;

namespace Xen.InHeap.Selection;

/// <summary>
/// <c>services.AddXenBackend(domain)</c> for the in-heap backends. The package's <c>buildTransitive</c>
/// targets import this class (<c>global using static</c>) only when <c>Xen.InHeap</c> is the selected
/// backend, so a program calls <c>AddXenBackend</c> without naming a backend; its own namespace keeps
/// it out of reach otherwise (see <c>docs/packages.md</c>).
/// </summary>
public static class XenBackendServiceCollectionExtensions
{
    /// <summary>
    /// Registers the selected backend, here <see cref="XenInHeapServiceCollectionExtensions.AddXenInHeap"/>
    /// on the process-wide hubs of <see cref="InHeapBackend"/> (as <c>XenBackend.OpenEvents</c> uses
    /// them): <c>XenEvents</c> and <c>XenMemory</c> acting as <paramref name="domain"/>, which meet the
    /// domains of every other container in this process. The container does not dispose those hubs.
    /// </summary>
    /// <param name="services">The collection to add to.</param>
    /// <param name="domain">The domain this container acts as; null: 0.</param>
    public static IServiceCollection AddXenBackend(this IServiceCollection services, ushort? domain = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        // Instances, not factories: the container leaves them alone when it is disposed.
        services.TryAddSingleton<InHeapEventHub>(InHeapBackend.EventHub);
        services.TryAddSingleton<InHeapGrantHub>(InHeapBackend.GrantHub);
        return services.AddXenInHeap(options =>
        {
            if (domain is { } id)
                options.Domain = id;
        });
    }
}
