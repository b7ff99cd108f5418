using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit;

namespace TestSupport;

/// <summary>
/// A real Xen to test against: boots Xen 4.17 with a Linux dom0 under QEMU with the rig in <c>xen-vm/</c>
/// (<c>run-in-dom0.sh</c>, <c>build-image.sh</c>; docs/xen-vm.md) and runs one command in dom0, as root, in a
/// folder shared from the host at the same absolute path. Builds the image first if it is missing or was built
/// by other scripts (root and apt needed).
/// </summary>
public static class XenVm
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(15);

    /// <summary>Where the rig's scripts are: <c>$XENVM_SCRIPTS</c>, else <c>xen-vm/</c> at the repository root.</summary>
    public static string ScriptsDirectory =>
        Environment.GetEnvironmentVariable("XENVM_SCRIPTS") is { Length: > 0 } set
            ? set
            : Path.Combine(RepositoryRoot ?? AppContext.BaseDirectory, "xen-vm");

    /// <summary>The folder holding <c>Mirage.sln</c> above the test's output folder, if any.</summary>
    public static string? RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Mirage.sln")))
                    return dir.FullName;
            }
            return null;
        }
    }

    /// <summary>Where build-image.sh puts the images (its own default).</summary>
    public static string ImagesDirectory
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

    /// <summary>
    /// Boots the VM and runs <paramref name="command"/> in dom0 in <paramref name="folder"/>; returns its exit code
    /// (124: timeout, 125/126: the VM failed) and its stdout and stderr. Fails the test if the scripts are missing
    /// or the image cannot be built.
    /// </summary>
    public static async Task<(int Code, string Output)> RunInDom0Async(string folder, string[] command, TimeSpan timeout,
                                                                       params (string Name, string Value)[] environment)
    {
        var runScript = Path.Combine(ScriptsDirectory, "run-in-dom0.sh");
        var buildScript = Path.Combine(ScriptsDirectory, "build-image.sh");
        Assert.True(File.Exists(runScript) && File.Exists(buildScript),
            $"The Xen VM scripts are not at {ScriptsDirectory} (run-in-dom0.sh, build-image.sh): set XENVM_SCRIPTS to their folder.");

        if (!await IsImageCurrentAsync())
        {
            Assert.True(Environment.IsPrivilegedProcess,
                $"The Xen VM image in {ImagesDirectory} is missing or stale, and building it needs root and apt: run `sudo bash {buildScript}` once.");
            // Test assemblies run in parallel: one builds the image while the others wait on the lock.
            Directory.CreateDirectory(ImagesDirectory);
            using var buildLock = await LockAsync(Path.Combine(ImagesDirectory, ".build.lock"), BuildTimeout);
            if (!await IsImageCurrentAsync())
            {
                var (buildCode, buildOutput) = await RunAsync("bash", [buildScript], BuildTimeout);
                Assert.True(buildCode == 0, $"build-image.sh failed with {buildCode}:\n{Tail(buildOutput)}");
            }
        }

        // The VM kills itself a little before the host gives up, so that its own timeout message comes back.
        var vmTimeout = ((int)timeout.TotalSeconds - 30).ToString(CultureInfo.InvariantCulture);
        using var slot = await AcquireSlotAsync();
        return await RunAsync("bash", [runScript, folder, .. command], timeout, [("XENVM_TIMEOUT", vmTimeout), .. environment]);
    }

    /// <summary>
    /// Whether the image is built, and by the scripts in <see cref="ScriptsDirectory"/>: its stamp (written by
    /// build-image.sh) matches what <c>image-stamp.sh</c> says of the scripts now.
    /// </summary>
    public static async Task<bool> IsImageCurrentAsync()
    {
        var stamp = Path.Combine(ImagesDirectory, "stamp");
        if (!File.Exists(stamp))
            return false;
        var (code, now) = await RunAsync("bash", [Path.Combine(ScriptsDirectory, "image-stamp.sh")], TimeSpan.FromMinutes(1));
        return code == 0 && now.Trim() == (await File.ReadAllTextAsync(stamp)).Trim();
    }

    /// <summary>
    /// One of <see cref="Slots"/> places for a running VM, held until disposed. The test assemblies run side by side,
    /// and more VMs under software emulation than cores only slow each other past their timeouts, so the
    /// rest wait here (their timeouts start once they have a place).
    /// </summary>
    public static async Task<IDisposable> AcquireSlotAsync()
    {
        Directory.CreateDirectory(ImagesDirectory);
        var deadline = DateTime.UtcNow + SlotWait;
        while (true)
        {
            for (var i = 0; i < Slots; i++)
            {
                try
                {
                    return new FileStream(Path.Combine(ImagesDirectory, $".vm-slot-{i}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                }
                catch (IOException)
                {
                    // taken: try the next
                }
            }
            Assert.True(DateTime.UtcNow < deadline, $"No place for a VM within {SlotWait.TotalMinutes:0} min: {Slots} others ran all along.");
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    private static int Slots => Math.Max(2, Environment.ProcessorCount);

    private static readonly TimeSpan SlotWait = TimeSpan.FromMinutes(40);

    // An exclusive lock on a file, held by this process until disposed; waits up to the timeout.
    private static async Task<FileStream> LockAsync(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>The last 60 lines of <paramref name="text"/>, for failure messages.</summary>
    public static string Tail(string text) => string.Join('\n', text.Split('\n').TakeLast(60));

    /// <summary>
    /// Asserts that a checks program (one printing <c>PASS name (ms)</c> / <c>FAIL name: why</c> per check and
    /// <c>N passed, M failed</c>) passed every one of <paramref name="checks"/> and exited with 0.
    /// </summary>
    public static void AssertAllPassed(int code, string text, IReadOnlyCollection<string> checks)
    {
        var failures = text.Split('\n').Where(l => l.StartsWith("FAIL ", StringComparison.Ordinal)).ToArray();
        Assert.True(failures.Length == 0, "Checks failed in dom0:\n" + string.Join('\n', failures));
        Assert.True(code == 0, $"run-in-dom0.sh exited with {code} (124: timeout, 125/126: the VM failed):\n{Tail(text)}");
        foreach (var name in checks)
            Assert.Contains($"PASS {name} (", text, StringComparison.Ordinal);
        Assert.Contains($"{checks.Count} passed, 0 failed", text, StringComparison.Ordinal);
    }

    /// <summary>Runs a program to its end or the timeout (then kills it, and its children); returns its exit code and its stdout and stderr together.</summary>
    public static async Task<(int Code, string Output)> RunAsync(string file, string[] arguments, TimeSpan timeout, params (string Name, string Value)[] environment)
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
