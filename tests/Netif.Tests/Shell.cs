using System.Diagnostics;

namespace Netif.Tests;

/// <summary>Runs a shell command for the namespace and TAP tests (<c>ip</c>, <c>ping</c>).</summary>
internal static class Shell
{
    /// <summary>Runs <paramref name="command"/> with <c>/bin/sh -c</c>; kills it after a minute.</summary>
    public static (int Code, string Output) Run(string command)
    {
        using var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
            p.Kill(entireProcessTree: true);
        return (p.ExitCode, output.Result + error.Result);
    }
}
