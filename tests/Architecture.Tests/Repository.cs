namespace Architecture.Tests;

/// <summary>The repository's root: the folder above the test's output that holds Mirage.sln.</summary>
internal static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mirage.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"No Mirage.sln above {AppContext.BaseDirectory}.");
    }
}
