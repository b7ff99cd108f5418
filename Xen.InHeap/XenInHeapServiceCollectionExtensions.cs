using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;

namespace Xen.InHeap;

/// <summary>Registers the in-heap backends with a service collection.</summary>
public static class XenInHeapServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="InHeapEventHub"/> and <see cref="InHeapGrantHub"/> as singletons (unless
    /// already registered, so several containers can share hubs) and <see cref="InHeapEvents"/> and
    /// <see cref="InHeapMemory"/> for <see cref="XenInHeapOptions.Domain"/>, with the memory's unmap
    /// notifications sent on the events. The container disposes them: memory first, then events.
    /// </summary>
    public static IServiceCollection AddXenInHeap(this IServiceCollection services, Action<XenInHeapOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions();
        if (configure is not null)
            services.Configure(configure);
        services.TryAddSingleton<InHeapEventHub>();
        services.TryAddSingleton(_ => new InHeapGrantHub());
        services.TryAdd(ServiceDescriptor.Singleton(typeof(InHeapEvents), sp =>
            sp.GetRequiredService<InHeapEventHub>().Open(sp.GetRequiredService<IOptions<XenInHeapOptions>>().Value.Domain)));
        services.TryAdd(ServiceDescriptor.Singleton(typeof(InHeapMemory), sp =>
        {
            // Resolved first, so that the container (which disposes in reverse order) disposes the
            // memory while the events can still carry its unmap notifications.
            var events = sp.GetRequiredService<InHeapEvents>();
            return sp.GetRequiredService<InHeapGrantHub>().Open(events.LocalDomain, InHeapDomain.SendOn(events));
        }));
        return services;
    }
}
