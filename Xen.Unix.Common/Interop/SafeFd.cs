using Microsoft.Win32.SafeHandles;

namespace Xen.Unix;

/// <summary>A file descriptor, closed once when released.</summary>
internal sealed class SafeFd : SafeHandleMinusOneIsInvalid
{
    public SafeFd() : base(ownsHandle: true)
    {
    }

    internal SafeFd(int fd) : base(ownsHandle: true) => SetHandle(fd);

    /// <summary>The descriptor number; valid while the handle is not released.</summary>
    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => Interop.close((int)handle) == 0;
}
