using System.Globalization;
using Xen.Evtchn;
using Xen.Gnt;

namespace Xen.Xenctrl;

/// <summary>
/// Dom0's own Xenstore ring, as a daemon running in dom0 serves it: the page Linux set up for its
/// xenbus (<c>/proc/xen/xsd_kva</c>, mapped shared) and the event-channel port Linux allocated for it
/// (<c>/proc/xen/xsd_port</c>, an unbound port of dom0 offered to dom0, which the daemon binds with
/// <see cref="IEvents.Connect"/> to domain 0). Linux's kernel is the client on this ring: its xenbus
/// drivers and <c>/dev/xen/xenbus</c> go through it.
/// </summary>
public sealed unsafe class XenstoreLocalPage : PageBuffer
{
    /// <summary>Where Linux's xenfs offers dom0's Xenstore page.</summary>
    public const string DefaultKvaPath = "/proc/xen/xsd_kva";

    /// <summary>Where Linux's xenfs says dom0's Xenstore port.</summary>
    public const string DefaultPortPath = "/proc/xen/xsd_port";

    private XenstoreLocalPage(nint address, Port port)
        : base(address, 1, writable: true) => Port = port;

    /// <summary>The port to connect to, in domain 0.</summary>
    public Port Port { get; }

    /// <summary>Maps the page and reads the port.</summary>
    /// <exception cref="IOException">Not dom0, xenfs not mounted on <c>/proc/xen</c>, or Linux did not leave
    /// Xenstore to a daemon in dom0 (its store runs elsewhere); the message says which.</exception>
    public static XenstoreLocalPage Open(string kvaPath = DefaultKvaPath, string portPath = DefaultPortPath)
    {
        uint port;
        try
        {
            var text = File.ReadAllText(portPath).Trim();
            if (!uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port == 0)
                throw new IOException($"{portPath} holds '{text}', not a port: this dom0's Xenstore is not served from dom0.");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot read {portPath} ({e.Message}): run in dom0, as root, with xenfs mounted on /proc/xen.", e);
        }
        var fd = Interop.Libc.Open(kvaPath, Interop.Libc.O_RDWR);
        if (fd.IsInvalid)
        {
            var errno = Interop.Errno.Last;
            fd.Dispose();
            throw new IOException($"Cannot open {kvaPath}: {Interop.Errno.Describe(errno)} (errno {errno}).");
        }
        using (fd)
        {
            var address = Interop.Libc.MMap(0, PageSize, Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE, Interop.Libc.MAP_SHARED, fd, 0);
            if (address == Interop.Libc.MAP_FAILED)
            {
                var errno = Interop.Errno.Last;
                // Linux refuses the mapping (EINVAL) unless the store is local to dom0.
                throw new IOException($"Cannot map {kvaPath}: {Interop.Errno.Describe(errno)} (errno {errno}); Linux maps it only when Xenstore is to run in dom0.");
            }
            return new XenstoreLocalPage(address, new Port(port));
        }
    }

    /// <inheritdoc />
    protected override void Release(bool disposing) => _ = Interop.Libc.MUnmap((nint)BaseAddress, PageSize);
}
