using System.Diagnostics;

namespace Xen.Store.Checks;

/// <summary>One way to reach a Xenstore daemon: its Unix socket, the xenbus device, or our own daemon's socket.</summary>
internal sealed class Target(string name, Func<XenstoreClient> open, bool isDevice)
{
    /// <summary>How the target is named in the output: <c>socket</c>, <c>xenbus</c>, <c>mirage</c>.</summary>
    public string Name { get; } = name;

    /// <summary>Whether requests go through the kernel's xenbus device, which passes on only the usual request types.</summary>
    public bool IsDevice { get; } = isDevice;

    public XenstoreClient Open() => open();

    public static Target Socket(string name, string path) =>
        new(name, () => XenstoreClient.ConnectAsync(path).GetAwaiter().GetResult(), isDevice: false);

    public static Target Xenbus(string path) => new("xenbus", () => XenstoreClient.OpenXenbus(path), isDevice: true);
}

/// <summary><c>mirage xenstored</c> started from the shared dlls on a private socket inside dom0.</summary>
internal sealed class MirageDaemon : IDisposable
{
    private readonly Process _process;

    private MirageDaemon(Process process, string socketPath)
    {
        _process = process;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    public static MirageDaemon Start(string mirageDll)
    {
        var directory = Path.Combine(Path.GetTempPath(), "mirage-xs-checks-" + Environment.ProcessId);
        var socketPath = Path.Combine(directory, "socket");
        var info = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(mirageDll);
        info.ArgumentList.Add("xenstored");
        info.ArgumentList.Add("--socket");
        info.ArgumentList.Add(socketPath);
        var process = Process.Start(info) ?? throw new CheckFailedException($"cannot start {mirageDll}");
        var ready = Task.Run(() =>
        {
            while (process.StandardError.ReadLine() is { } line)
            {
                if (line.Contains("ready on", StringComparison.Ordinal))
                    return true;
            }
            return false;
        });
        // Starting .NET takes long under QEMU's software emulation on a busy host.
        if (!ready.Wait(Check.Patience * 6) || !ready.Result)
        {
            process.Kill();
            throw new CheckFailedException("mirage xenstored did not say it was ready");
        }
        _ = Task.Run(() => process.StandardError.ReadToEnd());
        return new MirageDaemon(process, socketPath);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
    }
}
