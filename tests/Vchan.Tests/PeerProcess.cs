using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Vchan.Tests;

/// <summary>
/// A peer program as another domain (<c>Vchan.Peer</c>, or a C program on libxenvchan); killed on
/// dispose if still running.
/// </summary>
internal sealed class PeerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _errors = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PeerProcess(string root, string storeSocket, string role, ushort local, ushort remote, string port, string mode, long bytes)
        : this(DotnetPeer(root, storeSocket, role, local, remote, port, mode, bytes))
    {
    }

    private static ProcessStartInfo DotnetPeer(string root, string storeSocket, string role, ushort local, ushort remote, string port, string mode, long bytes)
    {
        var info = new ProcessStartInfo("dotnet");
        info.ArgumentList.Add(PeerDll);
        foreach (var a in new[] { role, local.ToString(CultureInfo.InvariantCulture), remote.ToString(CultureInfo.InvariantCulture), port, mode, bytes.ToString(CultureInfo.InvariantCulture) })
            info.ArgumentList.Add(a);
        info.Environment["XEN_ROOT"] = root;
        info.Environment["XENSTORED_PATH"] = storeSocket;
        return info;
    }

    /// <summary>Starts <paramref name="info"/> with its output and errors collected.</summary>
    public PeerProcess(ProcessStartInfo info)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        _process = new Process { StartInfo = info, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) =>
        {
            lock (_output)
            {
                if (e.Data is not null)
                    _output.AppendLine(e.Data);
                Monitor.PulseAll(_output);
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_errors)
                _errors.AppendLine(e.Data);
        };
        _process.Exited += (_, _) => _exited.TrySetResult();
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Where the peer program was built: beside this test project, same configuration.</summary>
    private static string PeerDll
    {
        get
        {
            var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
            var configuration = tfm.Parent!.Name;
            var tests = tfm.Parent!.Parent!.Parent!.Parent!.FullName;
            var dll = Path.Combine(tests, "Vchan.Peer", "bin", configuration, tfm.Name, "Vchan.Peer.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException("The peer program is not built; build tests/Vchan.Peer.", dll);
        }
    }

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public async Task WaitForLineAsync(string line, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!Output.Split('\n').Any(l => l.TrimEnd('\r') == line))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"The peer exited with {_process.ExitCode} before printing '{line}':\n{Output}\n{Errors}");
            if (deadline.Elapsed > timeout)
                throw new TimeoutException($"The peer did not print '{line}':\n{Output}\n{Errors}");
            await Task.Delay(10);
        }
    }

    public async Task ExitAsync(TimeSpan timeout)
    {
        await _exited.Task.WaitAsync(timeout);
        _process.WaitForExit();
        Assert.True(_process.ExitCode == 0, $"The peer exited with {_process.ExitCode}:\n{Output}\n{Errors}");
    }

    public async Task<string> ReadToEndAsync(TimeSpan timeout)
    {
        await ExitAsync(timeout);
        return Output;
    }

    /// <summary>kill -9.</summary>
    public void Kill() => _process.Kill();

    public string Errors
    {
        get
        {
            lock (_errors)
                return _errors.ToString();
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
