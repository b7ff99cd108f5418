using Xen.Store;

namespace Mirage.Cli.Commands;

/// <summary>
/// Where a command finds Xenstore: a daemon's Unix socket, or the kernel's xenbus device in a Xen domain.
/// The device must be opened with <see cref="XenstoreClient.OpenXenbus"/>: it takes one whole message per
/// write (a second message in the same write is dropped) and is not a socket to connect to.
/// </summary>
internal static class XenstoreConnection
{
    /// <summary>Whether <paramref name="path"/> names the kernel's Xenstore device (<c>/dev/xen/xenbus</c>, <c>/proc/xen/xenbus</c>).</summary>
    public static bool IsDevice(string path) =>
        path.StartsWith("/dev/xen/", StringComparison.Ordinal) || path.StartsWith("/proc/xen/", StringComparison.Ordinal);

    /// <summary>
    /// Opens <paramref name="path"/>, a socket or the xenbus device. Without a path: the daemon's default socket;
    /// in a Xen domain (<paramref name="xenbus"/> given) where that socket does not exist, the device.
    /// </summary>
    public static async Task<XenstoreClient> OpenAsync(string? path, string? xenbus, CancellationToken cancellationToken)
    {
        if (path is null)
        {
            path = XsWire.DefaultSocketPath;
            if (xenbus is not null && !File.Exists(path))
            {
                path = File.Exists(xenbus)
                    ? xenbus
                    : throw new IOException($"No Xenstore here: neither {path} nor {xenbus} exists. Is this a Xen domain with xenstored running?");
            }
        }
        return IsDevice(path)
            ? XenstoreClient.OpenXenbus(path)
            : await XenstoreClient.ConnectAsync(path, cancellationToken).ConfigureAwait(false);
    }
}
