using System.Diagnostics;
using System.Globalization;

namespace Mirage.Bench;

/// <summary>
/// The C references (<c>bench/c/*.c</c>, copied beside the program): compiled with <c>gcc -O2</c>
/// into a temporary folder when a run starts, run in the same sitting as the figures they bound.
/// Each prints one line of <c>key=value</c> pairs (see <c>bench/c/bench.h</c>).
/// </summary>
internal sealed class CReferences : IDisposable
{
    private readonly DirectoryInfo _folder;

    private CReferences(DirectoryInfo folder) => _folder = folder;

    /// <summary>Compiles every reference; a missing gcc or a failed compile is an error that says which.</summary>
    public static CReferences Compile()
    {
        var sources = Path.Combine(AppContext.BaseDirectory, "c");
        if (!Directory.Exists(sources))
            throw new DirectoryNotFoundException($"The C references are not beside the program ({sources}); build bench/Mirage.Bench again.");
        var folder = Directory.CreateTempSubdirectory("mirage-bench-c-");
        try
        {
            foreach (var source in Directory.GetFiles(sources, "*.c"))
            {
                var output = Path.Combine(folder.FullName, Path.GetFileNameWithoutExtension(source));
                var (code, text) = Run("gcc", ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-pthread", "-I", sources, "-o", output, source], TimeSpan.FromMinutes(2));
                if (code != 0)
                    throw new InvalidOperationException($"gcc -O2 {source} failed:\n{text}");
            }
            return new CReferences(folder);
        }
        catch
        {
            folder.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>Runs <paramref name="program"/> and returns what it measured.</summary>
    public Measurement Run(string program, params string[] arguments)
    {
        var (code, text) = Run(Path.Combine(_folder.FullName, program), arguments, TimeSpan.FromMinutes(2));
        if (code != 0)
            throw new InvalidOperationException($"The C reference {program} {string.Join(' ', arguments)} failed with {code}:\n{text}");
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var pair in text.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !double.TryParse(pair[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                throw new FormatException($"The C reference {program} printed '{text.Trim()}', not key=value pairs.");
            values[pair[..eq]] = value;
        }
        double Get(string key) => values.TryGetValue(key, out var v) ? v : throw new FormatException($"The C reference {program} did not print {key}.");
        var peer = Get("cpu_b_us");
        return new Measurement(Get("value"), Get("items"), TimeSpan.FromMicroseconds(Get("cpu_a_us")),
            peer > 0 ? TimeSpan.FromMicroseconds(peer) : null, null);
    }

    /// <summary>Runs the reference <paramref name="trials"/> times and keeps the best.</summary>
    public Measurement Best(int trials, bool higherIsBetter, string program, params string[] arguments)
    {
        Measurement? best = null;
        for (var t = 0; t < Math.Max(1, trials); t++)
            best = Measurement.Best(best, Run(program, arguments), higherIsBetter);
        return best!.Value;
    }

    public void Dispose() => _folder.Delete(recursive: true);

    private static (int Code, string Output) Run(string file, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {file}.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"Could not run {file} ({e.Message}); the C references need gcc (apt-get install gcc).", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{file} did not finish within {timeout.TotalSeconds:F0} s.");
            }
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
    }
}
