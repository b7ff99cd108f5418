namespace Mirage.Cli.Commands;

/// <summary>Sequence numbers as sorted, disjoint [start, end) ranges: frames arrive in order, so a session's numbers stay a few ranges.</summary>
internal sealed class RangeSet
{
    private readonly List<(long Start, long End)> _ranges = [];

    public long Count { get; private set; }

    public void Add(long start, long end)
    {
        if (end <= start)
            return;
        // Where the new range goes: after every range that ends before it starts.
        var i = _ranges.Count;
        while (i > 0 && _ranges[i - 1].End >= start)
            i--;
        var (s, e) = (start, end);
        var j = i;
        while (j < _ranges.Count && _ranges[j].Start <= e)
        {
            s = Math.Min(s, _ranges[j].Start);
            e = Math.Max(e, _ranges[j].End);
            Count -= _ranges[j].End - _ranges[j].Start;
            j++;
        }
        _ranges.RemoveRange(i, j - i);
        _ranges.Insert(i, (s, e));
        Count += e - s;
    }

    /// <summary>How many numbers of this set <paramref name="other"/> lacks.</summary>
    public long CountMissingFrom(RangeSet other)
    {
        long missing = 0;
        foreach (var (start, end) in _ranges)
        {
            var covered = 0L;
            foreach (var (s, e) in other._ranges)
                covered += Math.Max(0, Math.Min(end, e) - Math.Max(start, s));
            missing += end - start - covered;
        }
        return missing;
    }
}
