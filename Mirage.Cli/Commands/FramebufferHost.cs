using System.CommandLine;
using System.Globalization;
using System.Net;
using Fbif;
using Kbdif;
using Xen.Store;

namespace Mirage.Cli.Commands;

/// <summary>What <c>fbback</c> and <c>fbfront</c> share: the devices (vfb and vkbd with the same number), the options, the toolstack's step.</summary>
internal static class FramebufferHost
{
    public static Option<uint> Device() => new("--device")
    {
        Description = "The device number of the vfb and the vkbd.",
        DefaultValueFactory = _ => 0,
    };

    public static Option<double> Timeout() => new("--timeout")
    {
        Description = "Seconds to wait for the other end to appear and connect.",
        DefaultValueFactory = _ => 60,
    };

    public static XenbusDevice Framebuffer(uint device, ushort frontend, ushort backend) => new(FbifConstants.DeviceType, device, frontend, backend);

    public static XenbusDevice Keyboard(uint device, ushort frontend, ushort backend) => new(KbdifConstants.DeviceType, device, frontend, backend);

    /// <summary>
    /// The toolstack's step: both domains' homes, and fresh vfb and vkbd devices with the backend's keys
    /// already in them (Linux's frontends read those when they probe).
    /// </summary>
    public static async Task CreateDevicesAsync(XenstoreClient dom0, XenbusDevice framebuffer, FbifBackendInfo framebufferInfo,
        XenbusDevice keyboard, KbdifBackendInfo keyboardInfo, CancellationToken cancellationToken)
    {
        foreach (var d in new[] { framebuffer.BackendDomain, framebuffer.FrontendDomain }.Distinct())
        {
            var home = XsWire.DomainPath(d);
            if (await dom0.TryReadAsync(home, cancellationToken).ConfigureAwait(false) is null)
            {
                await dom0.MkdirAsync(home, cancellationToken).ConfigureAwait(false);
                await dom0.SetPermissionsAsync(home, XsPermissions.Create(d), cancellationToken).ConfigureAwait(false);
            }
        }
        foreach (var path in new[] { framebuffer.FrontendPath, framebuffer.BackendPath, keyboard.FrontendPath, keyboard.BackendPath })
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
        await FbifXenbus.CreateDeviceAsync(dom0, framebuffer, framebufferInfo, cancellationToken).ConfigureAwait(false);
        await KbdifXenbus.CreateDeviceAsync(dom0, keyboard, keyboardInfo, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Parses <c>host:port</c> (an IP address; the port may be 0 to let the system choose).</summary>
    public static IPEndPoint ParseEndPoint(string text) =>
        IPEndPoint.TryParse(text, out var endPoint) && text.Contains(':', StringComparison.Ordinal)
            ? endPoint
            : throw new InvalidOperationException($"--vnc '{text}' is not an address and port such as 127.0.0.1:5900.");

    public static CancellationTokenSource Deadline(double seconds, CancellationToken cancellationToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        source.CancelAfter(TimeSpan.FromSeconds(seconds));
        return source;
    }

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
