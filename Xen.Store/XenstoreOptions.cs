namespace Xen.Store;

/// <summary>Where <see cref="XenstoreServiceCollectionExtensions.AddXenstore(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{XenstoreOptions}?)"/>'s client connects, and as which domain.</summary>
public sealed class XenstoreOptions
{
    /// <summary>
    /// The daemon's Unix socket, or the kernel's Xenstore device (a path under <c>/dev/xen/</c> or <c>/proc/xen/</c>,
    /// such as <see cref="XsWire.XenbusDevicePath"/>). Null (the default): <see cref="XsWire.DefaultSocketPath"/>
    /// if it exists, else <see cref="XsWire.XenbusDevicePath"/> if that exists (a Xen guest), else the socket path,
    /// which the connection error then names.
    /// </summary>
    public string? Path { get; set; }

    /// <summary>
    /// The domain a socket connection acts as. The daemon treats its socket's connections as dom0; a
    /// process that plays another domain (over the Unix backends) claims its id
    /// (<see cref="XenstoreClient.ActAsDomainAsync"/>). Null or 0 (the default): the connection stays as
    /// it is. A device connection already acts as the domain it runs in, and ignores this.
    /// </summary>
    public ushort? Domain { get; set; }

    /// <summary>How long connecting and claiming <see cref="Domain"/> may take. Default 10 seconds.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
