/// <summary>
/// Calls into the C library, one file per call (after dotnet/runtime's <c>Interop.Sys</c>). Each project
/// compiles only the calls it names with <c>&lt;LibcCall Include="..." /&gt;</c> (see Interop.targets), as
/// internal source, so no package depends on another for its libc calls.
/// </summary>
internal static partial class Interop
{
    internal static partial class Libc
    {
        // Resolved by the runtime's probing to glibc's libc.so.6.
        internal const string Name = "libc";
    }
}
