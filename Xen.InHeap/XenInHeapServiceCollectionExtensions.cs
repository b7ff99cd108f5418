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
    /// Registers <see cref="InHeapEvents"/> and <see cref="InHeapMemory"/> as singletons for
    /// <see cref="XenInHeapOptions.Domain"/>, opened on first use, with the memory's unmap notifications
    /// sent on the events; and <see cref="InHeapEventHub"/> and <see cref="InHeapGrantHub"/> unless
    /// already registered (register the same hub instances in several containers and their domains
    /// meet). Drivers take the backends as type arguments (<c>AddVchan&lt;InHeapEvents, InHeapMemory&gt;()</c>,
    /// or <c>&lt;XenEvents, XenMemory&gt;</c> where this backend is selected). The container disposes the
    /// memory first, then the events. Calling it again adds nothing.
    /// </summary>
    public static IServiceCollection AddXenInHeap(this IServiceCollection services, Action<XenInHeapOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<XenInHeapOptions>();
        if (configure is not null)
            options.Configure(configure);
        services.TryAddSingleton<InHeapEventHub>();
        services.TryAddSingleton(_ => new InHeapGrantHub());
        services.TryAdd(ServiceDescriptor.Singleton(typeof(InHeapEvents), sp =>
            sp.GetRequiredService<InHeapEventHub>().Open(sp.GetRequiredService<IOptions<XenInHeapOptions>>().Value.Domain)));
        services.TryAdd(ServiceDescriptor.Singleton(typeof(InHeapMemory), sp =>
        {
            // The events first: the container disposes in reverse order, so the memory goes while the
            // events can still carry its unmap notifications.
            var events = sp.GetRequiredService<InHeapEvents>();
            return sp.GetRequiredService<InHeapGrantHub>().Open(events.LocalDomain, InHeapDomain.SendOn(events));
        }));
        return services;
    }
}
