namespace Mirage.Cli.Commands;

/// <summary>
/// The soak's books of numbered versions, per blkif block or Xenstore key: the highest version issued
/// and the highest acknowledged. A read-back must show the acknowledged one or a later issued one (a
/// write in flight when its writer died may or may not have landed). Not thread-safe: the ledger locks.
/// </summary>
internal sealed class VersionBook<TKey>
    where TKey : notnull
{
    private readonly Dictionary<TKey, (long Acknowledged, long IssuedMax)> _versions = [];

    public (long Acknowledged, long IssuedMax) this[TKey key] => _versions.GetValueOrDefault(key);

    public void Issued(TKey key, long version)
    {
        var (acknowledged, issued) = this[key];
        _versions[key] = (acknowledged, Math.Max(issued, version));
    }

    public void Acknowledged(TKey key, long version)
    {
        var (acknowledged, issued) = this[key];
        _versions[key] = (Math.Max(acknowledged, version), issued);
    }

    public void Clear() => _versions.Clear();

    /// <summary>The acknowledged version of every key in the book.</summary>
    public Dictionary<TKey, long> AcknowledgedVersions() => _versions.ToDictionary(k => k.Key, k => k.Value.Acknowledged);
}
