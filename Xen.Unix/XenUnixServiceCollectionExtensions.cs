using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt;
using Xen.Gnt.Unix;

namespace Xen.Unix;

/// <summary>Registers the Unix backends with a service collection.</summary>
public static class XenUnixServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="UnixEvents"/> and <see cref="UnixMemory"/> (also as <see cref="IEvents"/> and
    /// <see cref="IMemory"/>) as singletons for one domain, created on first use. The memory's unmap
    /// notifications that name an event port are sent through the events backend.
    /// </summary>
    /// <param name="services">The collection to add to.</param>
    /// <param name="configure">Sets the root folder and domain id; unset values come from
    /// <c>XEN_ROOT</c> and <c>XEN_DOMID</c>.</param>
    public static IServiceCollection AddXenUnix(this IServiceCollection services, Action<UnixXenOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<UnixXenOptions>();
        if (configure is not null)
            options.Configure(configure);
        // The backends are structs (so drivers generic over them are specialised); the container holds them boxed.
        services.TryAdd(ServiceDescriptor.Singleton(typeof(UnixEvents), provider =>
        {
            var o = provider.GetRequiredService<IOptions<UnixXenOptions>>().Value;
            return new UnixEvents(new UnixEventsOptions
            {
                Root = o.Root,
                Domain = o.Domain,
                SpinBeforeBlock = o.SpinBeforeBlock,
                InlineCompletions = o.InlineCompletions,
            });
        }));
        services.TryAdd(ServiceDescriptor.Singleton(typeof(UnixMemory), provider =>
        {
            var o = provider.GetRequiredService<IOptions<UnixXenOptions>>().Value;
            var events = provider.GetRequiredService<UnixEvents>();
            return new UnixMemory(new UnixMemoryOptions { Root = o.Root, Domain = o.Domain }, port => events.Send(new Channel(new Port(port))));
        }));
        services.TryAddSingleton<IEvents>(provider => provider.GetRequiredService<UnixEvents>());
        services.TryAddSingleton<IMemory>(provider => provider.GetRequiredService<UnixMemory>());
        return services;
    }
}
