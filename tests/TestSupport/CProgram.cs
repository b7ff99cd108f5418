using System.Diagnostics;
using System.Globalization;

namespace TestSupport;

/// <summary>
/// A small C program compiled with gcc for a test: conformance probes that print what the real
/// headers say, and differential peers that run the headers' own macros.
/// </summary>
public sealed class CProgram
{
    private static readonly string CacheRoot = Path.Combine(Path.GetTempPath(), "mirage-cprobes");

    private CProgram(string executable) => Executable = executable;

    /// <summary>The compiled program's path.</summary>
    public string Executable { get; }

    /// <summary>
    /// Compiles <paramref name="sourcePath"/> (relative paths are looked up beside the test assembly,
    /// where test projects copy their <c>.c</c> files) once per content, with extra gcc arguments.
    /// </summary>
    public static CProgram Compile(string sourcePath, params string[] gccArguments)
    {
        var source = Path.IsPathRooted(sourcePath) ? sourcePath : Path.Combine(AppContext.BaseDirectory, sourcePath);
        if (!File.Exists(source))
            throw new FileNotFoundException($"C source {source} is missing; is it copied to the output folder?", source);
        var text = File.ReadAllText(source) + "\n" + string.Join(' ', gccArguments);
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..16];
        Directory.CreateDirectory(CacheRoot);
        var exe = Path.Combine(CacheRoot, Path.GetFileNameWithoutExtension(source) + "-" + hash);
        if (!File.Exists(exe))
        {
            var tmp = exe + "." + Environment.ProcessId + ".tmp";
            var args = new List<string> { "-O2", "-Wall", "-Werror", "-std=gnu11", "-o", tmp, source };
            args.AddRange(gccArguments);
            var (code, stdout, stderr) = Run("gcc", args, TimeSpan.FromMinutes(2));
            if (code != 0)
                throw new InvalidOperationException($"gcc failed on {source} (is gcc with libxen-dev installed? `apt-get install gcc libxen-dev`):\n{stdout}{stderr}");
            File.Move(tmp, exe, overwrite: true);
        }
        return new CProgram(exe);
    }

    /// <summary>Runs the program to completion and returns its standard output; a non-zero exit throws.</summary>
    public string RunToEnd(params string[] arguments)
    {
        var (code, stdout, stderr) = Run(Executable, arguments, TimeSpan.FromMinutes(5));
        if (code != 0)
            throw new InvalidOperationException($"{Executable} exited with {code}:\n{stderr}");
        return stdout;
    }

    /// <summary>Runs a probe that prints <c>name=value</c> lines and returns them as a dictionary.</summary>
    public IReadOnlyDictionary<string, long> RunProbe(params string[] arguments)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in RunToEnd(arguments).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                throw new FormatException($"Probe line '{line}' is not name=value.");
            values.Add(line[..eq], long.Parse(line[(eq + 1)..], CultureInfo.InvariantCulture));
        }
        return values;
    }

    /// <summary>Starts the program with redirected standard streams; the caller owns the process.</summary>
    public Process Start(params string[] arguments)
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start {Executable}.");
    }

    private static (int Code, string Stdout, string Stderr) Run(string file, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish within {timeout}.");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
