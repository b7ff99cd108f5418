using System.Diagnostics;
using System.Globalization;

namespace Mirage.Cli.Commands;

/// <summary>
/// One process of the soak: a <c>mirage</c> subcommand or a soak peer. Its standard output goes, line
/// by line, to the pair's books; the last lines of its standard error are kept to explain a failure.
/// </summary>
internal sealed class SoakParty
{
    private readonly Queue<string> _errors = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _noticed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Process _process;
    private readonly Task _output;
    private readonly Task _errorLines;

    private SoakParty(string name, Process process, string startedMarker, string readyMarker, Action<string> onLine)
    {
        Name = name;
        _process = process;
        _output = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                Mark(line, startedMarker, readyMarker);
                if (line.StartsWith("noticed", StringComparison.Ordinal))
                    _noticed.TrySetResult();
                onLine(line);
            }
        });
        _errorLines = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                Mark(line, startedMarker, readyMarker);
                // An exception's message explains; its stack would crowd out the lines before it.
                if (line.StartsWith("   at ", StringComparison.Ordinal) || line.StartsWith("--- ", StringComparison.Ordinal))
                    continue;
                lock (_errors)
                {
                    _errors.Enqueue(line);
                    if (_errors.Count > 10)
                        _errors.Dequeue();
                }
            }
        });
        Exited = process.WaitForExitAsync();
        _ = Exited.ContinueWith(_ =>
        {
            ExitCode = process.ExitCode;
            _started.TrySetException(new InvalidOperationException($"{name} exited with {process.ExitCode} before it started: {Errors}"));
            _ready.TrySetException(new InvalidOperationException($"{name} exited with {process.ExitCode} before it was ready: {Errors}"));
            _noticed.TrySetResult();
        }, TaskScheduler.Default);
    }

    public string Name { get; }

    public bool Killed { get; private set; }

    public Task Exited { get; }

    public bool HasExited => Exited.IsCompleted;

    public int ExitCode { get; private set; }

    /// <summary>The process printed its started marker: the next party may start.</summary>
    public Task Started => _started.Task;

    /// <summary>The process printed its ready marker: traffic flows.</summary>
    public Task Ready => _ready.Task;

    /// <summary>The process said that its other end died, or exited.</summary>
    public Task Noticed => _noticed.Task;

    public string Errors
    {
        get
        {
            lock (_errors)
                return string.Join(" | ", _errors);
        }
    }

    /// <summary>Starts this same program with <paramref name="arguments"/>, like the demo does.</summary>
    public static SoakParty Start(string name, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment,
        string startedMarker, string readyMarker, Action<string> onLine)
    {
        var program = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot tell which program this is.");
        // Its standard input is a pipe this process holds and never writes: the party stops when the soak is gone (ParentWatch).
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment[ParentWatch.Variable] = "1";
        if (Path.GetFileNameWithoutExtension(program) == "dotnet")
            info.ArgumentList.Add(typeof(SoakParty).Assembly.Location);
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        foreach (var (key, value) in environment)
            info.Environment[key] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start " + name);
        return new SoakParty(name, process, startedMarker, readyMarker, onLine);
    }

    /// <summary>kill -9.</summary>
    public void Kill()
    {
        Killed = true;
        try
        {
            _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // It had already exited.
        }
    }

    /// <summary>SIGTERM, then SIGKILL if it has not exited within <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (!HasExited)
        {
            try
            {
                // kill(1)'s complaint about a process that exited meanwhile is of no interest.
                var info = new ProcessStartInfo("kill") { UseShellExecute = false, RedirectStandardError = true };
                info.ArgumentList.Add("-TERM");
                info.ArgumentList.Add(_process.Id.ToString(CultureInfo.InvariantCulture));
                using var term = Process.Start(info)!;
                await term.StandardError.ReadToEndAsync().ConfigureAwait(false);
                await term.WaitForExitAsync().ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
            }
            await Task.WhenAny(Exited, Task.Delay(grace)).ConfigureAwait(false);
            if (!HasExited)
                Kill();
        }
        await DrainAsync().ConfigureAwait(false);
    }

    /// <summary>Waits for the exit and for every line the process wrote: after this, its reports are all in the books.</summary>
    public async Task DrainAsync()
    {
        await Exited.ConfigureAwait(false);
        await Task.WhenAll(_output, _errorLines).ConfigureAwait(false);
        _process.Dispose();
    }

    private void Mark(string line, string startedMarker, string readyMarker)
    {
        if (line.StartsWith(startedMarker, StringComparison.Ordinal))
            _started.TrySetResult();
        if (line.StartsWith(readyMarker, StringComparison.Ordinal))
            _ready.TrySetResult();
    }
}
