using System.Runtime.InteropServices;

namespace Xen.Unix;

/// <summary>libc calls for the Unix backends, one file per call (after dotnet/runtime's Interop.Unix).</summary>
internal static partial class Interop
{
    internal const string Libc = "libc";

    internal const int EINTR = 4;
    internal const int EAGAIN = 11;
    internal const int EEXIST = 17;
    internal const int ENOENT = 2;
    internal const int EWOULDBLOCK = EAGAIN;

    /// <summary>The errno of the last failed call.</summary>
    internal static int Errno => Marshal.GetLastPInvokeError();

    /// <summary>The message libc gives for the last failed call.</summary>
    internal static string LastError(string call, string? path = null)
    {
        var errno = Errno;
        var text = Marshal.GetPInvokeErrorMessage(errno);
        return path is null ? $"{call} failed: {text} (errno {errno})" : $"{call}({path}) failed: {text} (errno {errno})";
    }

    internal static IOException Fail(string call, string? path = null) => new(LastError(call, path));
}
