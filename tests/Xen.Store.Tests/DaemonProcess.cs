using System.Diagnostics;
using TestSupport;

namespace Xen.Store.Tests;

/// <summary>The real <c>mirage xenstored</c> process on a private socket, and the real <c>xenstore-*</c> tools pointed at it.</summary>
public sealed class DaemonProcess : IDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    /// <summary>Starts <c>mirage xenstored</c> (the fixture of the interop tests).</summary>
    public DaemonProcess()
        : this([])
    {
    }

    /// <summary>Starts <c>mirage xenstored</c> with <paramref name="arguments"/> added to its command line.</summary>
    internal DaemonProcess(string[] arguments)
    {
        _directory = Path.Combine(Path.GetTempPath(), "mirage-xs-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_directory);
        SocketPath = Path.Combine(_directory, "socket");
        var info = MirageCli.StartInfo(["xenstored", .. arguments], new Dictionary<string, string> { ["XENSTORED_PATH"] = SocketPath });
        info.RedirectStandardError = info.RedirectStandardOutput = true;
        _process = Process.Start(info) ?? throw new InvalidOperationException("Could not start mirage.");
        // It says when it is ready; the socket path comes from XENSTORED_PATH, as real clients find it.
        var ready = Task.Run(() =>
        {
            string? line;
            while ((line = _process.StandardError.ReadLine()) is not null)
            {
                if (line.Contains("ready on", StringComparison.Ordinal))
                    return true;
            }
            return false;
        });
        if (!ready.Wait(TimeSpan.FromSeconds(30)) || !ready.Result)
        {
            Dispose();
            throw new InvalidOperationException("mirage xenstored did not start.");
        }
        _ = Task.Run(() => _process.StandardError.ReadToEnd());
    }

    public string SocketPath { get; }

    public Process Process => _process;

    /// <summary>Runs one of Debian's xenstore tools against the daemon and returns its exit code and output.</summary>
    public (int Code, string Output) Tool(string name, params string[] args) => ToolOn(SocketPath, name, args);

    /// <summary>Runs one of Debian's xenstore tools against another of the daemon's sockets.</summary>
    public (int Code, string Output) ToolOn(string socket, string name, params string[] args)
    {
        var info = new ProcessStartInfo(name) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        info.Environment["XENSTORED_PATH"] = socket;
        using var p = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {name}.");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(20)))
        {
            p.Kill();
            throw new TimeoutException($"{name} hung.");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Starts a tool that keeps running (xenstore-watch); the caller owns it.</summary>
    public Process StartTool(string name, params string[] args)
    {
        var info = new ProcessStartInfo(name) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        info.Environment["XENSTORED_PATH"] = SocketPath;
        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start {name}.");
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
