using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Xen.Evtchn.Xenctrl;
using Xen.Gnt.Xenctrl;

namespace Xen.Xenctrl;

/// <summary>Registers the xenctrl backends with dependency injection.</summary>
public static class XenctrlServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="XenctrlEvents"/> and <see cref="XenctrlMemory"/> as singletons for this
    /// domain. The devices are opened when first resolved, so a program that runs outside Xen fails
    /// then, with a message that says what to do. Drivers take the backends as type arguments
    /// (<c>AddVchan&lt;XenctrlEvents, XenctrlMemory&gt;()</c>, or <c>&lt;XenEvents, XenMemory&gt;</c> where
    /// this backend is selected). The container disposes the memory first, then the events. Calling it
    /// again adds nothing.
    /// </summary>
    public static IServiceCollection AddXenctrl(this IServiceCollection services, Action<XenctrlOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<XenctrlOptions>();
        if (configure is not null)
            options.Configure(configure);
        // The backends are structs: registered boxed; every copy shares the one open device.
        services.TryAdd(ServiceDescriptor.Singleton(typeof(XenctrlEvents), sp =>
            XenctrlBackends.OpenEvents(sp.GetRequiredService<IOptions<XenctrlOptions>>().Value)));
        services.TryAdd(ServiceDescriptor.Singleton(typeof(XenctrlMemory), sp =>
        {
            // The events first, as in every backend: the container disposes the memory before them. The
            // memory acts as the domain the events found, so the id is looked up once.
            var o = sp.GetRequiredService<IOptions<XenctrlOptions>>().Value;
            var events = sp.GetRequiredService<XenctrlEvents>();
            return XenctrlMemory.Open(events.LocalDomain, o.GntallocPath, o.GntdevPath);
        }));
        return services;
    }
}
