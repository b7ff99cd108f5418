using System.Diagnostics;
using System.Text;
using TestSupport;

namespace Netif.Tests;

/// <summary>
/// One <c>mirage</c> command in its own process (<c>dotnet mirage.dll ...</c>), optionally inside a
/// network namespace, with its output collected. Stopped with SIGTERM, killed if it lingers.
/// </summary>
internal sealed class MirageProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Task _reading;

    public MirageProcess(Scene scene, string arguments, string? netns = null)
    {
        var info = MirageCli.StartInfo(arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries),
            new Dictionary<string, string> { ["XENSTORED_PATH"] = scene.Socket, ["XEN_ROOT"] = scene.XenRoot });
        info.RedirectStandardOutput = info.RedirectStandardError = true;
        if (netns is not null)
        {
            // ip netns exec <netns> <the command MirageCli made> ...
            info.ArgumentList.Insert(0, "netns");
            info.ArgumentList.Insert(1, "exec");
            info.ArgumentList.Insert(2, netns);
            info.ArgumentList.Insert(3, info.FileName);
            info.FileName = "ip";
        }
        _process = Process.Start(info) ?? throw new InvalidOperationException("Could not start mirage.");
        _reading = Task.WhenAll(Collect(_process.StandardOutput), Collect(_process.StandardError));
    }

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public bool HasExited => _process.HasExited;

    public int Id => _process.Id;

    private async Task Collect(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (_output)
                _output.AppendLine(line);
        }
    }

    /// <summary>Waits until the output holds <paramref name="text"/> <paramref name="times"/> times; fails with the output otherwise.</summary>
    public async Task WaitForAsync(string text, int times = 1, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (Count(Output, text) < times)
        {
            Assert.True(DateTime.UtcNow < deadline && !_process.HasExited, $"Waited for '{text}' x{times}; the process {(_process.HasExited ? "exited" : "is still running")}. Output:\n{Output}");
            await Task.Delay(50);
        }
    }

    private static int Count(string s, string text)
    {
        var n = 0;
        for (var i = s.IndexOf(text, StringComparison.Ordinal); i >= 0; i = s.IndexOf(text, i + 1, StringComparison.Ordinal))
            n++;
        return n;
    }

    /// <summary>Waits for the process to exit by itself and returns its exit code.</summary>
    public async Task<int> ExitAsync(int seconds = 90)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"mirage did not finish in {seconds} s. Output:\n{Output}");
        }
        await _reading;
        return _process.ExitCode;
    }

    /// <summary>Kills the process at once, as a crash would.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM: the commands close their device and leave; kill if that takes too long.
            Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit(5000);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        await _reading;
        _process.Dispose();
    }
}

/// <summary>A private Xenstore daemon (<c>mirage xenstored</c>) and a private Unix-backend root, removed afterwards.</summary>
internal sealed class Scene : IAsyncDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mirage-netif-").FullName;
    private MirageProcess? _xenstored;

    public string Socket => Path.Combine(_folder, "xenstored.sock");

    public string XenRoot => Path.Combine(_folder, "xen");

    public static async Task<Scene> StartAsync()
    {
        var scene = new Scene();
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("The Unix backends run on Linux.");
        Directory.CreateDirectory(scene.XenRoot, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        scene._xenstored = new MirageProcess(scene, "xenstored --quiet");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!File.Exists(scene.Socket))
        {
            Assert.True(DateTime.UtcNow < deadline && !scene._xenstored.HasExited, "xenstored did not start: " + scene._xenstored.Output);
            await Task.Delay(50);
        }
        return scene;
    }

    public MirageProcess Start(string arguments, string? netns = null) => new(this, arguments, netns);

    public async ValueTask DisposeAsync()
    {
        if (_xenstored is not null)
            await _xenstored.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}
