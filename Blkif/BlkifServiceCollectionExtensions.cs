using Microsoft.Extensions.DependencyInjection;
using Xen.DependencyInjection;
using Xen.Evtchn;
using Xen.Gnt;

namespace Blkif;

/// <summary>Registers blkfront and blkback with a service collection.</summary>
public static class BlkifServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="BlkifFactory{TEvents, TMemory}"/> as a singleton over the backends
    /// <typeparamref name="TEvents"/> and <typeparamref name="TMemory"/>, which must be registered too
    /// (<c>services.AddXenBackend().AddBlkif&lt;XenEvents, XenMemory&gt;()</c> names none), and over the
    /// Xenstore client if one is registered (<c>AddXenstore</c>), for devices that meet through it. The
    /// container disposes the factory, and so the ends still open, before the backends and Xenstore.
    /// </summary>
    /// <param name="services">The collection to add to.</param>
    /// <param name="configure">Sets what blkfronts ask for and blkbacks offer.</param>
    public static IServiceCollection AddBlkif<TEvents, TMemory>(this IServiceCollection services, Action<BlkifOptions>? configure = null)
        where TEvents : IEvents
        where TMemory : IMemory =>
        DriverServices.AddFactory<TEvents, TMemory, BlkifOptions, BlkifFactory<TEvents, TMemory>>(services, "AddBlkif", configure,
            static (events, memory, store, options) => new BlkifFactory<TEvents, TMemory>(events, memory, store, options));
}
