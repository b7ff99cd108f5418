namespace Xen.Xenctrl.Native;

/// <summary>Calls into the C library, one file per call (after dotnet/runtime's <c>Interop.Sys</c>).</summary>
/// <remarks>Shared by the xenctrl backends as linked source files, so that neither references the other.</remarks>
internal static partial class Interop
{
    internal static partial class Libc
    {
        // Resolved by the runtime's probing to glibc's libc.so.6.
        internal const string Name = "libc";
    }
}
