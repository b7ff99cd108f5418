using Xen.Xenctrl.Native;

namespace Xen.Gnt.Xenctrl;

/// <summary>An <see cref="UnmapNotify"/> as the two devices' <c>SET_UNMAP_NOTIFY</c> arguments.</summary>
internal static class NotifyRequest
{
    /// <summary>The <c>UNMAP_NOTIFY_*</c> bits for <paramref name="notify"/>.</summary>
    internal static uint Action(UnmapNotify notify) =>
        (notify.ClearByteAt is null ? 0u : Interop.Gntdev.UNMAP_NOTIFY_CLEAR_BYTE)
        | (notify.EventPort is null ? 0u : Interop.Gntdev.UNMAP_NOTIFY_SEND_EVENT);

    /// <summary>
    /// The notify index: the mapping's index plus the byte to clear, or plus 0 when only an event is sent
    /// (the kernel then needs only some byte of the pages, to find them).
    /// </summary>
    internal static ulong Index(ulong mappingIndex, UnmapNotify notify) => mappingIndex + (ulong)(notify.ClearByteAt ?? 0);

    /// <summary>The event port, or 0 when no event is sent (the kernel ignores it then).</summary>
    internal static uint Port(UnmapNotify notify) => notify.EventPort ?? 0;

    /// <summary>Why a <c>SET_UNMAP_NOTIFY</c> failed, in words.</summary>
    internal static string Explain(UnmapNotify notify, int errno) => errno switch
    {
        Interop.Errno.EINVAL when notify.EventPort is { } port =>
            $"Linux refused the unmap notification (EINVAL): event port {port} must be bound in this domain through /dev/xen/evtchn and still open",
        _ => $"Linux refused the unmap notification: {Interop.Errno.Describe(errno)} (errno {errno})",
    };
}
