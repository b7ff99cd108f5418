using System.Globalization;

namespace Mirage.Bench;

/// <summary>
/// A goal of issue 16's table: one or more conditions on a row's ratio to its C reference or on its
/// value. Met when every condition holds; unknown (null) when a condition's figure is missing.
/// </summary>
internal sealed class Goal
{
    private readonly Condition[] _conditions;

    private Goal(params Condition[] conditions) => _conditions = conditions;

    public static Goal RatioAtLeast(double ratio) => new(new Condition(true, true, ratio, null));

    public static Goal RatioAtMost(double ratio) => new(new Condition(true, false, ratio, null));

    public static Goal ValueAtLeast(double value, string unit) => new(new Condition(false, true, value, unit));

    public static Goal ValueAtMost(double value, string unit) => new(new Condition(false, false, value, unit));

    /// <summary>Both this goal's conditions and <paramref name="other"/>'s.</summary>
    public Goal And(Goal other) => new([.. _conditions, .. other._conditions]);

    public bool? IsMet(double value, double? ratio)
    {
        foreach (var c in _conditions)
        {
            var figure = c.OnRatio ? ratio : value;
            if (figure is not { } f || double.IsNaN(f))
                return null;
            if (c.AtLeast ? f < c.Bound : f > c.Bound)
                return false;
        }
        return true;
    }

    public override string ToString() => string.Join(" and ", _conditions.Select(c =>
        (c.AtLeast ? ">= " : "<= ") + (c.OnRatio
            ? c.Bound.ToString("0.##", CultureInfo.InvariantCulture) + "x C"
            : c.Bound.ToString("#,0.##", CultureInfo.InvariantCulture) + " " + c.Unit)));

    private readonly record struct Condition(bool OnRatio, bool AtLeast, double Bound, string? Unit);
}
