using System.Collections.Concurrent;
using System.Diagnostics;
using TestSupport;

namespace Blkif.Tests;

/// <summary>One real <c>mirage</c> process (the built CLI), its stderr collected line by line.</summary>
internal sealed class MirageProcess : IDisposable
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly SemaphoreSlim _lineAdded = new(0);
    private readonly Task _reader;
    private int _disposed;

    public MirageProcess(string socket, bool redirectInput, string[] args, bool redirectOutput = false)
    {
        // The daemon is found as every Xenstore client finds it.
        var info = MirageCli.StartInfo(args, new Dictionary<string, string> { ["XENSTORED_PATH"] = socket });
        info.RedirectStandardError = true;
        info.RedirectStandardInput = redirectInput;
        info.RedirectStandardOutput = redirectOutput;
        Process = Process.Start(info) ?? throw new InvalidOperationException("Could not start mirage.");
        _reader = Task.Run(() =>
        {
            while (Process.StandardError.ReadLine() is { } line)
            {
                _lines.Enqueue(line);
                _lineAdded.Release();
            }
            _lineAdded.Release();
        });
    }

    public Process Process { get; }

    public string Stderr => string.Join('\n', _lines);

    /// <summary>Waits for a stderr line containing <paramref name="text"/>.</summary>
    public async Task WaitForLineAsync(string text, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        while (!_lines.Any(l => l.Contains(text, StringComparison.Ordinal)))
        {
            if (_reader.IsCompleted)
                throw new InvalidOperationException($"mirage exited without saying '{text}':\n{Stderr}");
            try
            {
                await _lineAdded.WaitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"mirage did not say '{text}' within {timeout}:\n{Stderr}");
            }
        }
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> ExitCodeAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await Process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"mirage did not exit within {timeout}:\n{Stderr}");
        }
        await _reader.WaitAsync(timeout);
        return Process.ExitCode;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        if (!Process.HasExited)
            Process.Kill();
        Process.WaitForExit(10_000);
        Process.Dispose();
        _lineAdded.Dispose();
    }
}

/// <summary>A private folder on tmpfs with a <c>mirage xenstored</c>, and blkback/blkfront processes started against it.</summary>
internal sealed class BlkifProcesses : IAsyncDisposable
{
    public const string BackendDomain = "1";
    public const string FrontendDomain = "2";
    private readonly List<MirageProcess> _processes = [];

    private BlkifProcesses()
    {
        Folder = Directory.CreateTempSubdirectory("mirage-blkif-test-").FullName;
        var shm = Directory.Exists("/dev/shm") ? Directory.CreateDirectory(Path.Combine("/dev/shm", Path.GetFileName(Folder))).FullName : Folder;
        Images = shm;
        Socket = Path.Combine(Folder, "socket");
    }

    /// <summary>Where the socket lives.</summary>
    public string Folder { get; }

    /// <summary>Where images and the Unix backends' root live (tmpfs when there is one).</summary>
    public string Images { get; }

    public string Socket { get; }

    public string Root => Path.Combine(Images, "xen");

    public static async Task<BlkifProcesses> StartAsync()
    {
        var processes = new BlkifProcesses();
        var daemon = processes.Start(false, ["xenstored"]);
        await daemon.WaitForLineAsync("ready on", TimeSpan.FromSeconds(30));
        return processes;
    }

    public MirageProcess Blkback(string image, params string[] more) =>
        Start(false, ["blkback", "--file", image, "--domain", BackendDomain, "--frontend-domain", FrontendDomain, "--root", Root, "--timeout", "60", .. more]);

    public MirageProcess Blkfront(bool redirectInput, params string[] more) =>
        Start(redirectInput, ["blkfront", "--domain", FrontendDomain, "--backend-domain", BackendDomain, "--root", Root, .. more.Contains("--timeout") ? more : [.. more, "--timeout", "60"]]);

    /// <summary>Any other mirage command, its stdout redirected.</summary>
    public MirageProcess Run(params string[] args) => Start(false, args, redirectOutput: true);

    private MirageProcess Start(bool redirectInput, string[] args, bool redirectOutput = false)
    {
        var process = new MirageProcess(Socket, redirectInput, args, redirectOutput);
        _processes.Add(process);
        return process;
    }

    public ValueTask DisposeAsync()
    {
        // The daemon last, so that the others close their ends first.
        for (var i = _processes.Count - 1; i >= 0; i--)
            _processes[i].Dispose();
        Directory.Delete(Folder, recursive: true);
        if (Images != Folder)
            Directory.Delete(Images, recursive: true);
        return ValueTask.CompletedTask;
    }
}
