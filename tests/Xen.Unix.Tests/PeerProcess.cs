using System.Diagnostics;

namespace Xen.Unix.Tests;

/// <summary>
/// A second process acting as another domain: <c>dotnet Xen.Unix.Peer.dll</c>, driven one command per line.
/// Killed on dispose if it is still running.
/// </summary>
public sealed class PeerProcess : IDisposable
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;

    public PeerProcess(string root, ushort domain, bool memoryOnly = false)
        : this(root, domain, memoryOnly ? ["memory"] : [])
    {
    }

    /// <summary>Starts the peer with <paramref name="arguments"/> (a mode of Xen.Unix.Peer's Program.cs).</summary>
    public PeerProcess(string root, ushort domain, string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(PeerDll);
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        info.Environment["XEN_ROOT"] = root;
        info.Environment["XEN_DOMID"] = domain.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["DOTNET_TieredPGO"] = "0";
        _process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the peer.");
        _ = _process.StandardError.ReadToEndAsync();
        Ready = ReadLine();
        Assert.StartsWith("ready", Ready);
    }

    /// <summary>The peer's first line: "ready" and what its mode reports.</summary>
    public string Ready { get; }

    /// <summary>Where the peer program was built: beside this test project, same configuration.</summary>
    public static string PeerDll
    {
        get
        {
            var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
            var configuration = tfm.Parent!.Name;
            var tests = tfm.Parent!.Parent!.Parent!.Parent!.FullName;
            var dll = System.IO.Path.Combine(tests, "Xen.Unix.Peer", "bin", configuration, tfm.Name, "Xen.Unix.Peer.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException("The peer program is not built; build tests/Xen.Unix.Peer.", dll);
        }
    }

    public int Id => _process.Id;

    /// <summary>Sends one command and returns what follows "ok "; an "error" answer fails the test.</summary>
    public string Ask(string command)
    {
        var answer = Try(command);
        Assert.True(answer.StartsWith("ok", StringComparison.Ordinal), $"'{command}' failed in the peer: {answer}");
        return answer.Length > 3 ? answer[3..] : "";
    }

    /// <summary>Sends one command and returns the whole answer line.</summary>
    public string Try(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
        return ReadLine();
    }

    /// <summary>Sends one command without waiting for the answer.</summary>
    public void Post(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
    }

    public string ReadLine()
    {
        var line = _process.StandardOutput.ReadLineAsync();
        if (!line.Wait(AnswerTimeout))
            throw new TimeoutException("The peer did not answer in time.");
        return line.Result ?? throw new EndOfStreamException($"The peer exited (code {(_process.WaitForExit(5000) ? _process.ExitCode : -1)}).");
    }

    /// <summary>Waits for the peer to exit and returns its exit status.</summary>
    public int WaitForExit()
    {
        if (!_process.WaitForExit(AnswerTimeout))
            throw new TimeoutException("The peer did not exit in time.");
        return _process.ExitCode;
    }

    /// <summary>kill -9.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit(AnswerTimeout);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(AnswerTimeout);
        }
        _process.Dispose();
    }
}
