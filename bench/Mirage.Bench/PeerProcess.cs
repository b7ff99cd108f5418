using System.CommandLine;
using System.Diagnostics;

namespace Mirage.Bench;

/// <summary>
/// The second process of a two-process bench: this program again, started with the bench's own
/// arguments, and the hidden command that runs it.
/// </summary>
internal static class PeerProcess
{
    /// <summary>Starts this program again with <paramref name="arguments"/> and the given environment variables.</summary>
    public static Process Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, bool redirectOutput = false)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = redirectOutput };
        // Run as `dotnet Mirage.Bench.dll`, the process is dotnet: the peer needs the assembly too.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            info.ArgumentList.Add(typeof(PeerProcess).Assembly.Location);
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        if (environment is not null)
        {
            foreach (var (name, value) in environment)
                info.Environment[name] = value;
        }
        return Process.Start(info) ?? throw new InvalidOperationException("Could not start the peer process.");
    }

    /// <summary>A hidden subcommand <paramref name="role"/> that hands its one or more arguments to <paramref name="run"/>.</summary>
    public static Command Command(string role, Func<string[], Task<int>> run)
    {
        var args = new Argument<string[]>("args") { Arity = ArgumentArity.OneOrMore };
        var peer = new Command(role) { Hidden = true };
        peer.Add(args);
        peer.SetAction(async (result, _) => await run(result.GetValue(args)!).ConfigureAwait(false));
        return peer;
    }
}
