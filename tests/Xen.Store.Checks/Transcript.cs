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

    /// <summary>
    /// True when the real daemon is oxenstored: the steps where Xen's two daemons disagree (<see cref="StepAsC"/>)
    /// are then noted, not compared; ours follows the C daemon there.
    /// </summary>
    public static bool AgainstOxenstored { get; set; }

    public void Add(string line) => Lines.Add(line);

    /// <summary>Why the rest of the scenario was not run for this target; only the steps before are compared.</summary>
    public string? SkippedRest { get; private set; }

    public void SkipRest(string why)
    {
        SkippedRest = why;
        Note("skipped the rest: " + why);
    }

    /// <summary>Whether this transcript says what <paramref name="reference"/> says, up to where it skipped.</summary>
    public bool Matches(Transcript reference) => SkippedRest is null
        ? Lines.SequenceEqual(reference.Lines)
        : Lines.Count <= reference.Lines.Count && Lines.SequenceEqual(reference.Lines.Take(Lines.Count));

    /// <summary>A step where oxenstored answers otherwise than the C xenstored, which ours matches.</summary>
    public async Task StepAsC(string label, Func<Task<string>> step)
    {
        if (!AgainstOxenstored)
        {
            await Step(label, step);
            return;
        }
        var probe = new Transcript();
        await probe.Step(label, step);
        Notes.AddRange(probe.Lines.Select(l => "(C and OCaml differ) " + l));
        Notes.AddRange(probe.Notes);
    }

    /// <summary><see cref="StepAsC(string, Func{Task{string}})"/> for a step that returns nothing.</summary>
    public Task StepAsC(string label, Func<Task> step) => StepAsC(label, async () =>
    {
        await step();
        return "OK";
    });

    public void Note(string line) => Notes.Add(line);

    /// <summary>Runs a step and records its value, or the daemon's error.</summary>
    public async Task Step(string label, Func<Task<string>> step)
    {
        try
        {
            Add($"{label} -> {await step()}");
        }
        catch (OperationCanceledException)
        {
            Add($"{label} -> no reply within {Check.Patience.TotalSeconds:0} s");
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
