using System.Runtime.InteropServices;

namespace Xen.Xenctrl.Native;

/// <summary>An open file descriptor of a <c>/dev/xen</c> device (or an eventfd), closed exactly once.</summary>
internal sealed class SafeDeviceHandle : SafeHandle
{
    /// <summary>Wraps a descriptor this process owns, or -1 for none.</summary>
    public SafeDeviceHandle(int fd) : base(invalidHandleValue: -1, ownsHandle: true) => SetHandle(fd);

    /// <inheritdoc />
    public override bool IsInvalid => handle < 0;

    /// <summary>The descriptor number.</summary>
    public int Fd => (int)handle;

    /// <inheritdoc />
    protected override bool ReleaseHandle() => Interop.Libc.Close(handle) == 0;
}
