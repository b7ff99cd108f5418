using System.Diagnostics;

namespace TestSupport;

/// <summary>The built <c>mirage</c> command, for tests that run it as a child process (<c>dotnet mirage.dll ...</c>).</summary>
public static class MirageCli
{
    /// <summary>
    /// The <c>mirage.dll</c> built beside the tests, in the same configuration and target framework
    /// (read from the test's own output folder, <c>bin/&lt;configuration&gt;/&lt;framework&gt;/</c>).
    /// </summary>
    public static string Dll
    {
        get
        {
            var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
            var configuration = framework.Parent!.Name;
            for (var dir = framework.Parent; dir is not null; dir = dir.Parent)
            {
                var dll = Path.Combine(dir.FullName, "Mirage.Cli", "bin", configuration, framework.Name, "mirage.dll");
                if (File.Exists(dll))
                    return dll;
            }
            throw new FileNotFoundException($"mirage.dll is not built ({configuration}, {framework.Name}); build Mirage.Cli, or a test project that references it.");
        }
    }

    /// <summary>
    /// <c>dotnet mirage.dll</c> with <paramref name="arguments"/> and <paramref name="environment"/>
    /// added; no shell, and the streams left to the caller to redirect. SIGINT is reset to its default
    /// on the way (<c>env --default-signal=INT</c>, which then execs, so the process id is mirage's):
    /// a shell that starts the tests in the background makes them ignore SIGINT, every child inherits
    /// that, and .NET leaves an inherited SIGINT ignored, so Ctrl-C would never reach mirage.
    /// </summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("env") { UseShellExecute = false };
        info.ArgumentList.Add("--default-signal=INT");
        info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(Dll);
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        if (environment is not null)
        {
            foreach (var (name, value) in environment)
                info.Environment[name] = value;
        }
        return info;
    }
}
