using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
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
        where TMemory : IMemory
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<NetifOptions>();
        if (configure is not null)
            options.Configure(configure);
        services.TryAddSingleton(sp =>
        {
            const string registration = "AddNetif";
            // The backends and Xenstore first: the container disposes in reverse order, so the factory's ends go before them.
            var events = DriverServices.Backend<TEvents>(sp, registration);
            var memory = DriverServices.Backend<TMemory>(sp, registration);
            var store = DriverServices.Xenstore(sp);
            return new NetifFactory<TEvents, TMemory>(events, memory, store, sp.GetRequiredService<IOptions<NetifOptions>>().Value);
        });
        return services;
    }
}
