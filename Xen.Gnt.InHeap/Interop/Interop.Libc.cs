namespace Xen.Gnt.InHeap;

/// <summary>The few libc calls this backend makes, one file per call, with the native names kept.</summary>
internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const string Name = "libc";
    }

    /// <summary>The last call's errno as text, for an error message.</summary>
    internal static string LastError()
    {
        var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        return $"errno {errno}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}";
    }
}
