namespace Mirage.Cli;

/// <summary>
/// A command that another mirage command starts as one of its parties (the soak does) stops when that
/// parent is gone, however the parent ended, SIGKILL included. The parent holds the write end of the
/// child's standard input and never writes to it, so a read of it ends only when the parent has exited;
/// then the child sends itself the SIGTERM on which every command closes its devices the standard way.
/// </summary>
internal static class ParentWatch
{
    /// <summary>Set to 1 by the parent, which also makes the child's standard input a pipe it keeps.</summary>
    public const string Variable = "MIRAGE_STOP_WITH_PARENT";

    public static void StartIfAsked()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1")
            return;
        // A blocked read on a thread of its own: no CPU while the parent lives.
        new Thread(Watch) { IsBackground = true, Name = "parent watch" }.Start();
    }

    private static void Watch()
    {
        using var input = Console.OpenStandardInput();
        var buffer = new byte[64];
        while (input.Read(buffer) > 0)
        {
        }
        Interop.Libc.Kill(Environment.ProcessId, Interop.Libc.SIGTERM);
    }
}
