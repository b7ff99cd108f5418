using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Xen.Store;

/// <summary>Registers a Xenstore connection with a service collection.</summary>
public static class XenstoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="XenstoreClient"/> singleton, connected to the daemon's socket or the
    /// kernel's Xenstore device when first resolved (see <see cref="XenstoreOptions"/>). The drivers'
    /// registrations (<c>AddVchan</c>, <c>AddNetif</c>, <c>AddBlkif</c>) use it to meet their peers the
    /// way Xen devices do; the container closes it after them. Calling it again adds nothing.
    /// </summary>
    /// <exception cref="IOException">On resolving: no daemon answers at the path; the message says where it looked.</exception>
    public static IServiceCollection AddXenstore(this IServiceCollection services, Action<XenstoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<XenstoreOptions>();
        if (configure is not null)
            options.Configure(configure);
        services.TryAddSingleton(sp => Connect(sp.GetRequiredService<IOptions<XenstoreOptions>>().Value));
        return services;
    }

    /// <summary>
    /// Registers one <see cref="XenstoreClient"/> singleton made by <paramref name="connect"/> when first
    /// resolved, e.g. <c>sp =&gt; XenstoreClient.Connect(server.Connect(domain))</c> for a daemon in this
    /// process. The container closes it. Calling it again adds nothing.
    /// </summary>
    public static IServiceCollection AddXenstore(this IServiceCollection services, Func<IServiceProvider, XenstoreClient> connect)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(connect);
        services.TryAddSingleton(connect);
        return services;
    }

    // A factory is synchronous: the connection and the claim are waited for, within the timeout.
    private static XenstoreClient Connect(XenstoreOptions options)
    {
        var path = options.Path ?? DefaultPath();
        if (IsDevice(path))
            return XenstoreClient.OpenXenbus(path);
        XenstoreClient client;
        try
        {
            client = XenstoreClient.ConnectAsync(path).WaitAsync(options.ConnectTimeout).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or TimeoutException)
        {
            throw new IOException(
                $"Cannot reach a Xenstore daemon at {path} ({e.Message}). Start one (`mirage xenstored --socket {path}`), "
                + $"or set {nameof(XenstoreOptions)}.{nameof(XenstoreOptions.Path)} (or XENSTORED_PATH) to its socket.", e);
        }
        if (options.Domain is { } domain and not 0)
        {
            try
            {
                client.ActAsDomainAsync(domain).WaitAsync(options.ConnectTimeout).GetAwaiter().GetResult();
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }
        return client;
    }

    private static string DefaultPath()
    {
        var socket = XsWire.DefaultSocketPath;
        return !File.Exists(socket) && File.Exists(XsWire.XenbusDevicePath) ? XsWire.XenbusDevicePath : socket;
    }

    // Xen's own device paths; a socket may well live elsewhere under /dev (e.g. /dev/shm).
    private static bool IsDevice(string path) =>
        path.StartsWith("/dev/xen/", StringComparison.Ordinal) || path.StartsWith("/proc/xen/", StringComparison.Ordinal);
}
