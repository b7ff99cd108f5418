using Microsoft.Extensions.DependencyInjection;

namespace Xen.Xenctrl.Selection;

/// <summary>
/// <c>services.AddXenBackend(domain)</c> for the xenctrl backends. The package's <c>buildTransitive</c>
/// targets import this class (<c>global using static</c>) only when <c>Xen.Xenctrl</c> is the selected
/// backend, so a program calls <c>AddXenBackend</c> without naming a backend; its own namespace keeps
/// it out of reach otherwise (see <c>docs/packages.md</c>).
/// </summary>
public static class XenBackendServiceCollectionExtensions
{
    /// <summary>
    /// Registers the selected backend, here <see cref="XenctrlServiceCollectionExtensions.AddXenctrl"/>:
    /// <c>XenEvents</c> and <c>XenMemory</c> for the Xen domain this process runs in.
    /// </summary>
    /// <param name="services">The collection to add to.</param>
    /// <param name="domain">The id of the domain this process runs in; null: found from Xen (0 in dom0,
    /// else Xenstore's <c>domid</c>).</param>
    public static IServiceCollection AddXenBackend(this IServiceCollection services, ushort? domain = null) =>
        services.AddXenctrl(options =>
        {
            if (domain is { } id)
                options.LocalDomain = id;
        });
}
