using System.Diagnostics;

namespace Mirage.Cli.Commands;

/// <summary>
/// The demo's second part: <c>mirage xenstored</c>, <c>mirage netback --loopback</c> and
/// <c>mirage netfront --send</c> as three processes of this same program, on a private socket and a
/// private Unix-backend root, so it needs no root and leaves nothing behind.
/// </summary>
internal static class NetifDemo
{
    public static async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        Console.WriteLine("== Netfront and netback in two processes, over the Unix backends ==");
        var folder = Directory.CreateTempSubdirectory("mirage-demo-").FullName;
        var socket = Path.Combine(folder, "xenstored.sock");
        // The shared pages on tmpfs, where the Unix backends keep them by default: on a disk file system
        // every page written is dirty page cache for the kernel to write back.
        var root = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : folder, "mirage-demo-xen-" + Path.GetFileName(folder));
        if (OperatingSystem.IsLinux())
            Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Process? xenstored = null, netback = null;
        try
        {
            Console.WriteLine("1. A Xenstore daemon on a private socket: mirage xenstored");
            xenstored = Start(socket, root, "xenstored", "--quiet");
            for (var waited = 0; !File.Exists(socket); waited += 50)
            {
                if (xenstored.HasExited || waited > 30_000)
                    throw new InvalidOperationException("The Xenstore daemon did not start.");
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
            Console.WriteLine("2. Domain 0 creates vif 0 for domain 1 and serves it, sending every frame back: mirage netback --loopback --keep-mappings");
            netback = Start(socket, root, "netback", "--loopback", "--keep-mappings");
            Console.WriteLine("3. Domain 1 finds it through Xenstore (InitWait, Initialised, Connected), sends frames with checksums");
            Console.WriteLine("   and checks each one that comes back: mirage netfront --send N --size S");
            foreach (var (count, size) in new[] { (100_000, 64), (50_000, 1500) })
            {
                using var netfront = Start(socket, root, "netfront", "--send", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "--size", size.ToString(System.Globalization.CultureInfo.InvariantCulture));
                await netfront.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
                await Task.Delay(100, cancellationToken).ConfigureAwait(false); // its last lines
                if (netfront.ExitCode != 0)
                {
                    Console.WriteLine($"   netfront failed with exit code {netfront.ExitCode}.");
                    return 1;
                }
            }
            Console.WriteLine("   Each frame crossed the tx ring to the backend process and the rx ring back through shared pages; the kernel carried only the wake-ups.");
            return 0;
        }
        finally
        {
            await StopAsync(netback).ConfigureAwait(false);
            await StopAsync(xenstored).ConfigureAwait(false);
            Directory.Delete(folder, recursive: true);
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }

    // This same program: the apphost, or `dotnet mirage.dll` when run through dotnet.
    internal static Process Start(string socket, string root, params string[] arguments)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            info.ArgumentList.Add(typeof(NetifDemo).Assembly.Location);
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        info.Environment["XENSTORED_PATH"] = socket;
        info.Environment["XEN_ROOT"] = root;
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start " + arguments[0]);
        // The processes' own lines, indented under the step: progress (stderr) marked, results (stdout) plain.
        _ = Echo(process.StandardError, "   | ");
        _ = Echo(process.StandardOutput, "   ");
        return process;
    }

    private static async Task Echo(StreamReader reader, string indent)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            Console.WriteLine(indent + line);
    }

    internal static async Task StopAsync(Process? process)
    {
        if (process is null)
            return;
        if (!process.HasExited)
        {
            using var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        process.Dispose();
    }
}
