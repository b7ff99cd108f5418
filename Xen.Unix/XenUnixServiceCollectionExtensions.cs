using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;

namespace Xen.Unix;

/// <summary>Registers the Unix backends with a service collection.</summary>
public static class XenUnixServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="UnixEvents"/> and <see cref="UnixMemory"/> as singletons for one domain,
    /// opened on first use; the memory's unmap notifications that name an event port are sent through
    /// the events. Drivers take them as type arguments (<c>AddVchan&lt;UnixEvents, UnixMemory&gt;()</c>,
    /// or <c>&lt;XenEvents, XenMemory&gt;</c> where this backend is selected). The container disposes the
    /// memory first, then the events (see <c>docs/packages.md</c>). Calling it again adds nothing.
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
            // The events first: the container disposes in reverse order, so the memory goes while the
            // events can still carry its unmap notifications.
            var o = provider.GetRequiredService<IOptions<UnixXenOptions>>().Value;
            var events = provider.GetRequiredService<UnixEvents>();
            return new UnixMemory(new UnixMemoryOptions { Root = o.Root, Domain = events.LocalDomain },
                port => events.Send(new Channel(new Port(port))));
        }));
        return services;
    }
}
