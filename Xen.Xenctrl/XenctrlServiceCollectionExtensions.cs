using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Xen.Evtchn;
using Xen.Evtchn.Xenctrl;
using Xen.Gnt;
using Xen.Gnt.Xenctrl;

namespace Xen.Xenctrl;

/// <summary>Registers the xenctrl backends with dependency injection.</summary>
public static class XenctrlServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="XenctrlEvents"/> and <see cref="XenctrlMemory"/> as singletons, and as
    /// <see cref="IEvents"/> and <see cref="IMemory"/>. The devices are opened when first resolved, so a
    /// program that runs outside Xen fails then, with a message that says what to do.
    /// </summary>
    public static IServiceCollection AddXenctrl(this IServiceCollection services, Action<XenctrlOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<XenctrlOptions>();
        if (configure is not null)
            options.Configure(configure);
        // The backends are structs: registered boxed; every copy shares the one open device.
        services.TryAddSingleton(typeof(XenctrlEvents), sp => XenctrlBackends.OpenEvents(sp.GetRequiredService<IOptions<XenctrlOptions>>().Value));
        services.TryAddSingleton(typeof(XenctrlMemory), sp => XenctrlBackends.OpenMemory(sp.GetRequiredService<IOptions<XenctrlOptions>>().Value));
        services.TryAddSingleton<IEvents>(sp => (IEvents)sp.GetRequiredService(typeof(XenctrlEvents)));
        services.TryAddSingleton<IMemory>(sp => (IMemory)sp.GetRequiredService(typeof(XenctrlMemory)));
        return services;
    }
}
