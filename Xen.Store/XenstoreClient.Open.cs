using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Xen.Store;

public sealed partial class XenstoreClient
{
    /// <summary>
    /// Opens Xenstore the one way every program here does: the daemon's Unix socket or the kernel's
    /// Xenstore device, found at <paramref name="location"/>, else <c>$XENSTORED_PATH</c>, else
    /// <c>$XENSTORED_RUNDIR/socket</c>, else <c>/var/run/xenstored/socket</c>; when none is given and
    /// that socket does not exist but <see cref="XsWire.XenbusDevicePath"/> does (a Xen guest), the device.
    /// A socket connection then acts as <paramref name="actAs"/> (<see cref="ActAsDomainAsync"/>).
    /// </summary>
    /// <param name="location">A socket, or a device under <c>/dev/xen/</c> or <c>/proc/xen/</c>; null: looked up as above.</param>
    /// <param name="actAs">The domain a socket connection claims: the daemon treats its socket's
    /// connections as dom0, and a process that plays another domain says which. Null or 0: stay dom0.
    /// Ignored by the device, whose connection already is the domain it runs in.</param>
    /// <param name="cancellationToken">Cancels connecting and claiming.</param>
    /// <param name="logger">Where the connection logs; null: nowhere.</param>
    /// <exception cref="IOException">Nothing answers at the place looked up; the message names it.</exception>
    public static Task<XenstoreClient> OpenAsync(string? location = null, ushort? actAs = null, CancellationToken cancellationToken = default, ILogger? logger = null) =>
        OpenAtAsync(Locate(location, Environment.GetEnvironmentVariable, File.Exists), actAs, logger, cancellationToken);

    /// <summary>
    /// Where <see cref="OpenAsync(string?, ushort?, CancellationToken, Microsoft.Extensions.Logging.ILogger?)"/> looks: <paramref name="location"/>,
    /// else the daemon's socket (<see cref="XsWire.DefaultSocketPath"/>'s order), else the xenbus device
    /// when only it exists.
    /// </summary>
    internal static string Locate(string? location, Func<string, string?> environment, Func<string, bool> exists)
    {
        if (!string.IsNullOrEmpty(location))
            return location;
        var socket = SocketPath(environment);
        return !exists(socket) && exists(XsWire.XenbusDevicePath) ? XsWire.XenbusDevicePath : socket;
    }

    // XsWire.DefaultSocketPath's order, over an environment a test can give.
    private static string SocketPath(Func<string, string?> environment)
    {
        var path = environment("XENSTORED_PATH");
        if (!string.IsNullOrEmpty(path))
            return path;
        var rundir = environment("XENSTORED_RUNDIR");
        return Path.Combine(string.IsNullOrEmpty(rundir) ? "/var/run/xenstored" : rundir, "socket");
    }

    /// <summary>Whether <paramref name="path"/> names the kernel's Xenstore device rather than a socket
    /// (a socket may well live elsewhere under <c>/dev</c>, e.g. <c>/dev/shm</c>).</summary>
    internal static bool IsDevice(string path) =>
        path.StartsWith("/dev/xen/", StringComparison.Ordinal) || path.StartsWith("/proc/xen/", StringComparison.Ordinal);

    private static async Task<XenstoreClient> OpenAtAsync(string path, ushort? actAs, ILogger? logger, CancellationToken cancellationToken)
    {
        if (IsDevice(path))
        {
            try
            {
                return OpenXenbus(path, logger);
            }
            catch (Exception e) when (e is UnauthorizedAccessException or FileNotFoundException or DirectoryNotFoundException)
            {
                throw new IOException($"Cannot open the Xenstore device {path} ({e.Message}): is this a Xen domain, and may this user open it?", e);
            }
        }
        XenstoreClient client;
        try
        {
            client = await ConnectAsync(path, cancellationToken, logger).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new IOException(
                $"Cannot reach a Xenstore daemon at {path} ({e.Message}). Start one (`mirage xenstored --socket {path}`), "
                + "or name its socket (--xenstore, or XENSTORED_PATH).", e);
        }
        if (actAs is null or 0)
            return client;
        try
        {
            await client.ActAsDomainAsync(actAs.Value, cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
