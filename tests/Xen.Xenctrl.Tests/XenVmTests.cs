extern alias checks;
using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;
using AllChecks = checks::Xen.Xenctrl.Checks.Checks;

namespace Xen.Xenctrl.Tests;

/// <summary>
/// The xenctrl backends against real Xen: boots Xen 4.17 with a Linux dom0 under QEMU (software emulation,
/// no KVM needed) with the xen-vm scripts, and runs the checks program (tests/Xen.Xenctrl.Checks) there
/// from this test's output folder. Builds the VM image first if it is missing (root and apt needed).
/// Takes a few minutes; filter it out with <c>--filter Category!=XenVm</c>.
/// </summary>
[Trait("Category", "XenVm")]
public sealed class XenVmTests(ITestOutputHelper output)
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(12);

    /// <summary>
    /// Where the xen-vm scripts are: <c>$XENVM_SCRIPTS</c>, else a <c>xen-vm/</c> folder at the repository
    /// root, else the team's shared copy in <c>shared/xen-vm</c> beside the repository.
    /// </summary>
    private static string ScriptsDirectory
    {
        get
        {
            if (Environment.GetEnvironmentVariable("XENVM_SCRIPTS") is { Length: > 0 } set)
                return set;
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (!File.Exists(Path.Combine(dir.FullName, "Mirage.sln")))
                    continue;
                var inRepository = Path.Combine(dir.FullName, "xen-vm");
                return File.Exists(Path.Combine(inRepository, "run-in-dom0.sh"))
                    ? inRepository
                    : Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "xen-vm"));
            }
            return Path.Combine(AppContext.BaseDirectory, "xen-vm");
        }
    }

    /// <summary>Where build-image.sh puts the images (its own default).</summary>
    private static string ImagesDirectory
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("XENVM_DIR");
            if (string.IsNullOrEmpty(root))
            {
                var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
                if (string.IsNullOrEmpty(cache))
                    cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
                root = Path.Combine(cache, "xen-vm");
            }
            return Path.Combine(root, "images");
        }
    }

    [Fact]
    public async Task The_xenctrl_checks_pass_inside_a_real_Xen_dom0()
    {
        var runScript = Path.Combine(ScriptsDirectory, "run-in-dom0.sh");
        var buildScript = Path.Combine(ScriptsDirectory, "build-image.sh");
        Assert.True(File.Exists(runScript) && File.Exists(buildScript),
            $"The Xen VM scripts are not at {ScriptsDirectory} (run-in-dom0.sh, build-image.sh): set XENVM_SCRIPTS to their folder.");

        string[] images = ["xen.elf", "vmlinuz", "initrd.cpio"];
        if (!images.All(i => File.Exists(Path.Combine(ImagesDirectory, i))))
        {
            Assert.True(Environment.IsPrivilegedProcess,
                $"The Xen VM image is missing in {ImagesDirectory} and building it needs root and apt: run `sudo bash {buildScript}` once.");
            var (buildCode, buildOutput) = await RunAsync("bash", [buildScript], BuildTimeout);
            Assert.True(buildCode == 0, $"build-image.sh failed with {buildCode}:\n{Tail(buildOutput)}");
        }

        var folder = AppContext.BaseDirectory;
        Assert.True(File.Exists(Path.Combine(folder, "Xen.Xenctrl.Checks.dll")), $"The checks program is not in {folder}.");
        var watch = Stopwatch.StartNew();
        var (code, text) = await RunAsync("bash", [runScript, folder, "dotnet", "Xen.Xenctrl.Checks.dll"], RunTimeout,
                                          ("XENVM_TIMEOUT", ((int)RunTimeout.TotalSeconds - 30).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        output.WriteLine($"run-in-dom0.sh took {watch.Elapsed.TotalSeconds:0} s and exited with {code}:\n{text}");

        var failures = text.Split('\n').Where(l => l.StartsWith("FAIL ", StringComparison.Ordinal)).ToArray();
        Assert.True(failures.Length == 0, "Checks failed in dom0:\n" + string.Join('\n', failures));
        Assert.True(code == 0, $"run-in-dom0.sh exited with {code} (124: timeout, 125/126: the VM failed):\n{Tail(text)}");
        foreach (var (name, _) in AllChecks.All)
            Assert.Contains($"PASS {name} (", text, StringComparison.Ordinal);
        Assert.Contains($"{AllChecks.All.Length} passed, 0 failed", text, StringComparison.Ordinal);
    }

    private static string Tail(string text) => string.Join('\n', text.Split('\n').TakeLast(60));

    private static async Task<(int Code, string Output)> RunAsync(string file, string[] arguments, TimeSpan timeout, params (string Name, string Value)[] environment)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        foreach (var (name, value) in environment)
            info.Environment[name] = value;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Cannot start {file}.");
        process.StandardInput.Close();
        var text = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (text) text.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (text) text.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            lock (text)
                return (-1, $"{file} did not finish within {timeout.TotalMinutes:0} min:\n{text}");
        }
        process.WaitForExit(); // drains the output events
        lock (text)
            return (process.ExitCode, text.ToString());
    }
}
