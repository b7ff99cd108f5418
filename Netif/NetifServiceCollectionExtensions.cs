using Microsoft.Extensions.DependencyInjection;
using Xen.DependencyInjection;
using Xen.Evtchn;
using Xen.Gnt;

namespace Netif;

/// <summary>Registers netfront and netback with a service collection.</summary>
public static class NetifServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="NetifFactory{TEvents, TMemory}"/> as a singleton over the backends
    /// <typeparamref name="TEvents"/> and <typeparamref name="TMemory"/>, which must be registered too
    /// (<c>services.AddXenBackend().AddNetif&lt;XenEvents, XenMemory&gt;()</c> names none), and over the
    /// Xenstore client if one is registered (<c>AddXenstore</c>), for devices that meet through it. The
    /// container disposes the factory, and so the ends still open, before the backends and Xenstore.
    /// </summary>
    /// <param name="services">The collection to add to.</param>
    /// <param name="configure">Sets what netfronts ask for and netbacks offer.</param>
    public static IServiceCollection AddNetif<TEvents, TMemory>(this IServiceCollection services, Action<NetifOptions>? configure = null)
        where TEvents : IEvents
        where TMemory : IMemory =>
        DriverServices.AddFactory<TEvents, TMemory, NetifOptions, NetifFactory<TEvents, TMemory>>(services, "AddNetif", configure,
            static (events, memory, store, options) => new NetifFactory<TEvents, TMemory>(events, memory, store, options));
}
