using System.Runtime.InteropServices;

/// <summary>
/// A file descriptor, closed once when released. Every descriptor a package holds lives in one, so a
/// call in flight keeps it open (the marshaller adds a reference) and a close never hits a reused number.
/// </summary>
internal sealed class SafeFd : SafeHandle
{
    /// <summary>For the marshaller, which fills in the descriptor a call returns.</summary>
    public SafeFd() : base(invalidHandleValue: -1, ownsHandle: true)
    {
    }

    /// <summary>Takes ownership of <paramref name="fd"/>; a negative number (a failed call) is invalid.</summary>
    internal SafeFd(int fd) : base(invalidHandleValue: -1, ownsHandle: true) => SetHandle(fd);

    /// <inheritdoc />
    public override bool IsInvalid => handle < 0;

    /// <summary>The descriptor number, for structures that carry it (pollfd); valid while the handle is not released.</summary>
    public int Fd => (int)handle;

    /// <inheritdoc />
    protected override bool ReleaseHandle() => Interop.Libc.Close((int)handle) == 0;
}
