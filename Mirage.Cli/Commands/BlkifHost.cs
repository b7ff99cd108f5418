using System.CommandLine;
using Blkif;
using Xen.Store;

namespace Mirage.Cli.Commands;

/// <summary>What <c>blkback</c> and <c>blkfront</c> share beside <see cref="DomainOptions"/>: the device, the timeout, the toolstack's step.</summary>
internal static class BlkifHost
{
    public static Option<uint> Device() => new("--device")
    {
        Description = "The device number (51712 is xvda).",
        DefaultValueFactory = _ => 51712,
    };

    public static Option<double> Timeout() => new("--timeout")
    {
        Description = "Seconds to wait for the other end to appear and connect.",
        DefaultValueFactory = _ => 60,
    };

    /// <summary>
    /// The toolstack's step, done by dom0's connection: both domains' homes and a fresh device with the
    /// keys xl writes for a disk (a Linux blkfront needs <c>virtual-device</c> to probe it).
    /// </summary>
    public static async Task CreateDeviceAsync(XenstoreClient dom0, XenbusDevice device, bool readOnly, string? image, CancellationToken cancellationToken)
    {
        foreach (var d in new[] { device.BackendDomain, device.FrontendDomain }.Distinct())
        {
            var home = XsWire.DomainPath(d);
            if (await dom0.TryReadAsync(home, cancellationToken).ConfigureAwait(false) is null)
            {
                await dom0.MkdirAsync(home, cancellationToken).ConfigureAwait(false);
                await dom0.SetPermissionsAsync(home, XsPermissions.Create(d), cancellationToken).ConfigureAwait(false);
            }
        }
        // What an earlier run left behind would confuse the new handshake.
        foreach (var path in new[] { device.FrontendPath, device.BackendPath })
        {
            try
            {
                await dom0.RmAsync(path, cancellationToken).ConfigureAwait(false);
            }
            catch (XenstoreException e) when (e.Error == XsError.ENOENT)
            {
                // Its parent is missing too: nothing to remove.
            }
        }
        await BlkifXenbus.CreateDeviceAsync(dom0, device, readOnly, image, cancellationToken).ConfigureAwait(false);
    }

    public static CancellationTokenSource Deadline(double seconds, CancellationToken cancellationToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        source.CancelAfter(TimeSpan.FromSeconds(seconds));
        return source;
    }
}
