using Microsoft.Extensions.DependencyInjection;
using Xen.DependencyInjection;
using Xen.Evtchn;
using Xen.Gnt;

namespace Vchan;

/// <summary>Registers vchans with a service collection.</summary>
public static class VchanServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="VchanFactory{TEvents, TMemory}"/> as a singleton over the backends
    /// <typeparamref name="TEvents"/> and <typeparamref name="TMemory"/>, which must be registered too
    /// (<c>services.AddXenBackend().AddVchan&lt;XenEvents, XenMemory&gt;()</c> names none), and over the
    /// Xenstore client if one is registered (<c>AddXenstore</c>), for vchans found by port name. The
    /// container disposes the factory, and so the vchans still open, before the backends and Xenstore.
    /// </summary>
    /// <param name="services">The collection to add to.</param>
    /// <param name="configure">Sets the ring sizes, the connect timeout and the spin time.</param>
    public static IServiceCollection AddVchan<TEvents, TMemory>(this IServiceCollection services, Action<VchanOptions>? configure = null)
        where TEvents : IEvents
        where TMemory : IMemory =>
        DriverServices.AddFactory<TEvents, TMemory, VchanOptions, VchanFactory<TEvents, TMemory>>(services, "AddVchan", configure,
            static (events, memory, store, options) => new VchanFactory<TEvents, TMemory>(events, memory, store, options));
}
