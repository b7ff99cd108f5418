using System.Globalization;
using System.Runtime.InteropServices;
using Xen.Gnt.Unix;

/// <summary>
/// "peer linger &lt;remote&gt;": shares one page with the remote domain and prints "ready &lt;ref&gt;". On
/// "go" its main thread leaves (the process shows as a zombie) while another thread keeps its files open
/// and locked; on "end" that thread ends the process. This is what a killed process looks like for the
/// moment the kernel is still closing its files, held open for as long as a test needs.
/// </summary>
internal static partial class Linger
{
    private const long SysExit = 60; // x86_64: ends the calling thread only (exit_group ends them all)

    public static void Run(ushort remote)
    {
        var memory = new UnixMemory(new UnixMemoryOptions(), null);
        var share = memory.Share(remote, 1, writable: true);
        Console.Out.WriteLine("ready " + share.Refs[0].Value.ToString(CultureInfo.InvariantCulture));
        Console.Out.Flush();
        Console.In.ReadLine();
        new Thread(() =>
        {
            Console.In.ReadLine();
            ExitProcess(0);
        }).Start();
        GC.KeepAlive(share);
        Syscall(SysExit, 0);
    }

    [LibraryImport("libc", EntryPoint = "syscall")]
    private static partial long Syscall(long number, long status);

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void ExitProcess(int status);
}
