using System.Diagnostics;
using System.Text;
using TestSupport;

namespace Mirage.Cli.Tests;

/// <summary>One run of the <c>mirage</c> command as its own process, with its standard streams redirected; killed on dispose if still running.</summary>
internal sealed class MirageProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _errors = new();

    public MirageProcess(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = MirageCli.StartInfo(args, environment);
        info.RedirectStandardInput = info.RedirectStandardOutput = info.RedirectStandardError = true;
        _process = new Process { StartInfo = info };
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_errors)
            {
                if (e.Data is not null)
                    _errors.AppendLine(e.Data);
            }
        };
        _process.Start();
        _process.BeginErrorReadLine();
    }

    public Stream StandardInput => _process.StandardInput.BaseStream;

    public Stream StandardOutput => _process.StandardOutput.BaseStream;

    public int Id => _process.Id;

    public string Errors
    {
        get
        {
            lock (_errors)
                return _errors.ToString();
        }
    }

    public async Task<string> StandardOutputText(TimeSpan timeout) =>
        await _process.StandardOutput.ReadToEndAsync().WaitAsync(timeout);

    public async Task<string?> StandardOutputLine(TimeSpan timeout) =>
        await _process.StandardOutput.ReadLineAsync().WaitAsync(timeout);

    public async Task WaitForErrorLineAsync(string start, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!Errors.Split('\n').Any(l => l.StartsWith(start, StringComparison.Ordinal)))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"mirage exited with {_process.ExitCode} before printing '{start}':\n{Errors}");
            if (deadline.Elapsed > timeout)
                throw new TimeoutException($"mirage did not print '{start}':\n{Errors}");
            await Task.Delay(10);
        }
    }

    public async Task<int> ExitCodeAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
