using System.Globalization;
using System.Text.Json;

namespace Mirage.Bench;

/// <summary>One row of the report: a figure of the project, its C reference and the goal between them.</summary>
internal sealed record ReportRow(string Name, string Description, string Unit, Measurement Figure, Measurement? Reference, string? ReferenceName, Goal? Goal)
{
    /// <summary>Figure over reference: above 1 is more of the unit (faster for rates, slower for times).</summary>
    public double? Ratio => Reference is { } r && r.Value != 0 ? Figure.Value / r.Value : null;

    public bool? Met => Goal?.IsMet(Figure.Value, Ratio);
}

/// <summary>The table every benchmark adds its rows to, printed as text and written as JSON.</summary>
internal sealed class Report
{
    private readonly List<ReportRow> _rows = [];

    public IReadOnlyList<ReportRow> Rows => _rows;

    public void Add(ReportRow? row)
    {
        // Null: a row left out by --only.
        if (row is null)
            return;
        _rows.Add(row);
        // Each row as it is measured, so that a long run shows progress.
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  measured {row.Name}: {Number(row.Figure.Value)} {row.Unit}{(row.Reference is { } r ? $", C {Number(r.Value)}" : "")}"));
    }

    public void Print(TextWriter output)
    {
        var header = new[] { "name", "figure", "unit", "C reference", "ratio", "goal", "met", "alloc B/item", "CPU us/item (this, peer)", "C CPU us/item (a, b)" };
        var cells = _rows.Select(r => new[]
        {
            r.Name,
            Number(r.Figure.Value),
            r.Unit,
            r.Reference is { } c ? Number(c.Value) : "-",
            r.Ratio is { } ratio ? ratio.ToString("0.00", CultureInfo.InvariantCulture) + "x" : "-",
            r.Goal?.ToString() ?? "-",
            r.Met switch { true => "yes", false => "NO", null => "-" },
            r.Figure.AllocatedPerItem is { } a ? a.ToString("0.###", CultureInfo.InvariantCulture) : "-",
            CpuPair(r.Figure),
            r.Reference is { } cr ? CpuPair(cr) : "-",
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, cells.Count == 0 ? 0 : cells.Max(c => c[i].Length))).ToArray();
        output.WriteLine("| " + string.Join(" | ", header.Select((h, i) => h.PadRight(widths[i]))) + " |");
        output.WriteLine("|" + string.Join("|", widths.Select(w => new string('-', w + 2))) + "|");
        foreach (var row in cells)
            output.WriteLine("| " + string.Join(" | ", row.Select((c, i) => i is 0 or 2 or 5 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))) + " |");
        output.WriteLine();
        foreach (var r in _rows)
            output.WriteLine($"{r.Name}: {r.Description}{(r.ReferenceName is { } n ? " C reference: " + n + "." : "")}");
    }

    /// <summary>Writes the rows as a JSON list of objects (name, value, unit, reference, ratio, goal, met, and the CPU and allocation figures).</summary>
    public void WriteJson(string path)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartArray();
        foreach (var r in _rows)
        {
            json.WriteStartObject();
            json.WriteString("name", r.Name);
            Write(json, "value", r.Figure.Value);
            json.WriteString("unit", r.Unit);
            Write(json, "reference", r.Reference?.Value);
            Write(json, "ratio", r.Ratio);
            if (r.Goal is { } goal)
                json.WriteString("goal", goal.ToString());
            else
                json.WriteNull("goal");
            if (r.Met is { } met)
                json.WriteBoolean("met", met);
            else
                json.WriteNull("met");
            json.WriteString("description", r.Description);
            if (r.ReferenceName is { } referenceName)
                json.WriteString("referenceName", referenceName);
            else
                json.WriteNull("referenceName");
            Write(json, "items", r.Figure.Items);
            Write(json, "allocatedBytesPerItem", r.Figure.AllocatedPerItem);
            Write(json, "cpuMicrosPerItem", r.Figure.CpuMicrosPerItem);
            Write(json, "peerCpuMicrosPerItem", r.Figure.PeerCpuMicrosPerItem);
            Write(json, "referenceCpuMicrosPerItem", r.Reference?.CpuMicrosPerItem);
            Write(json, "referencePeerCpuMicrosPerItem", r.Reference?.PeerCpuMicrosPerItem);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private static void Write(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
            json.WriteNumber(name, v);
        else
            json.WriteNull(name);
    }

    private static string CpuPair(Measurement m) =>
        m.CpuMicrosPerItem.ToString("0.###", CultureInfo.InvariantCulture) + ", " +
        (m.PeerCpuMicrosPerItem is { } p ? p.ToString("0.###", CultureInfo.InvariantCulture) : "-");

    private static string Number(double value) => Math.Abs(value) switch
    {
        >= 1e5 => value.ToString("#,0", CultureInfo.InvariantCulture),
        >= 100 => value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.###", CultureInfo.InvariantCulture),
    };
}
