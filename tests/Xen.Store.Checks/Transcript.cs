using System.Text;

namespace Xen.Store.Checks;

/// <summary>
/// What a scenario saw, one line per step (<c>read /a -> "hello"</c>, <c>rm /b -> ENOENT</c>): the
/// scenarios' outcome, compared line by line between daemons. Notes are printed, not compared.
/// </summary>
internal sealed class Transcript
{
    public List<string> Lines { get; } = [];

    public List<string> Notes { get; } = [];

    public void Add(string line) => Lines.Add(line);

    public void Note(string line) => Notes.Add(line);

    /// <summary>Runs a step and records its value, or the daemon's error.</summary>
    public async Task Step(string label, Func<Task<string>> step)
    {
        try
        {
            Add($"{label} -> {await step()}");
        }
        catch (XenstoreException e)
        {
            Add($"{label} -> {e.Error}");
            if (e.Error == XsError.EIO)
                Note($"{label}: {e.Message} {e.InnerException?.GetType().Name} {e.InnerException?.Message}");
        }
    }

    /// <summary>Runs a step that returns nothing: <c>OK</c> or the daemon's error.</summary>
    public Task Step(string label, Func<Task> step) => Step(label, async () =>
    {
        await step();
        return "OK";
    });

    public static string Quote(string value) => "\"" + value + "\"";

    public static string Hex(byte[] bytes) => bytes.Length == 0 ? "(empty)" : Convert.ToHexString(bytes);

    public static string List(IEnumerable<string> items) => "[" + string.Join(' ', items) + "]";

    /// <summary>The lines where two transcripts differ, for the failure message.</summary>
    public static string Diff(string leftName, Transcript left, string rightName, Transcript right)
    {
        var text = new StringBuilder();
        for (var i = 0; i < Math.Max(left.Lines.Count, right.Lines.Count); i++)
        {
            var l = i < left.Lines.Count ? left.Lines[i] : "(nothing)";
            var r = i < right.Lines.Count ? right.Lines[i] : "(nothing)";
            if (l != r)
                text.Append($"\n    {leftName}: {l}\n    {rightName}: {r}");
        }
        return text.ToString();
    }
}
