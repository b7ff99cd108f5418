using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
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
        where TMemory : IMemory
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<VchanOptions>();
        if (configure is not null)
            options.Configure(configure);
        services.TryAddSingleton(sp =>
        {
            const string registration = "AddVchan";
            // The backends and Xenstore first: the container disposes in reverse order, so the factory's vchans close before them.
            var events = DriverServices.Backend<TEvents>(sp, registration);
            var memory = DriverServices.Backend<TMemory>(sp, registration);
            var store = DriverServices.Xenstore(sp);
            return new VchanFactory<TEvents, TMemory>(events, memory, store, sp.GetRequiredService<IOptions<VchanOptions>>().Value);
        });
        return services;
    }
}
