using Microsoft.Extensions.DependencyInjection;

namespace Xen.Unix.Selection;

/// <summary>
/// <c>services.AddXenBackend(domain)</c> for the Unix backends. The package's <c>buildTransitive</c>
/// targets import this class (<c>global using static</c>) only when <c>Xen.Unix</c> is the selected
/// backend, so a program calls <c>AddXenBackend</c> without naming a backend; its own namespace keeps
/// it out of reach otherwise (see <c>docs/packages.md</c>).
/// </summary>
public static class XenBackendServiceCollectionExtensions
{
    /// <summary>
    /// Registers the selected backend, here <see cref="XenUnixServiceCollectionExtensions.AddXenUnix"/>:
    /// <c>XenEvents</c> and <c>XenMemory</c> acting as <paramref name="domain"/>.
    /// </summary>
    /// <param name="services">The collection to add to.</param>
    /// <param name="domain">The domain this process acts as; null: <c>XEN_DOMID</c>.</param>
    public static IServiceCollection AddXenBackend(this IServiceCollection services, ushort? domain = null) =>
        services.AddXenUnix(options =>
        {
            if (domain is { } id)
                options.Domain = id;
        });
}
