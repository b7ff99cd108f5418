namespace Mirage.Cli.Commands;

/// <summary>
/// The soak's books. Each pair has two witnesses: the party that was told "done" (the acknowledgement)
/// and the party or store that holds the data. What the first was told and the second never held is
/// lost. The witnesses report on separate pipes, so a pair's books close only once both processes of
/// one generation have exited and their lines are all read (<see cref="SettleVchan"/>,
/// <see cref="SettleNetif"/>); blkif and Xenstore are checked when the store is read back.
/// </summary>
internal sealed class SoakLedger
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, (long Received, long Acknowledged)> _vchan = [];
    private readonly Dictionary<int, (RangeSet Received, RangeSet Acknowledged)> _netif = [];
    private readonly VersionBook<int> _blocks = new();
    private readonly VersionBook<string> _keys = new();
    private readonly List<string> _problems = [];

    public long VchanBytesReceived { get; private set; }

    public long VchanBytesAcknowledged { get; private set; }

    public long VchanBytesLost { get; private set; }

    public long NetifFramesReceived { get; private set; }

    public long NetifFramesAcknowledged { get; private set; }

    public long NetifFramesLost { get; private set; }

    public long BlkifWritesAcknowledged { get; private set; }

    public long BlkifBlocksVerified { get; private set; }

    public long BlkifWritesLost { get; private set; }

    public long XenstoreWritesAcknowledged { get; private set; }

    public long XenstoreKeysVerified { get; private set; }

    public long XenstoreWritesLost { get; private set; }

    /// <summary>Data that came back changed: a block, frame or byte whose content does not match what was written.</summary>
    public long Corrupt { get; private set; }

    /// <summary>Bytes acknowledged so far, in settled generations and in the ones still running.</summary>
    public long VchanBytesAcknowledgedLive
    {
        get
        {
            lock (_lock)
                return VchanBytesAcknowledged + _vchan.Values.Sum(v => v.Acknowledged);
        }
    }

    /// <summary>Frames that came back so far, in settled generations and in the ones still running.</summary>
    public long NetifFramesAcknowledgedLive
    {
        get
        {
            lock (_lock)
                return NetifFramesAcknowledged + _netif.Values.Sum(v => v.Acknowledged.Count);
        }
    }

    public long Lost => VchanBytesLost + NetifFramesLost + BlkifWritesLost + XenstoreWritesLost;

    /// <summary>What went wrong, one line each (the first hundred).</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            lock (_lock)
                return [.. _problems];
        }
    }

    public void Problem(string text)
    {
        lock (_lock)
        {
            if (_problems.Count < 100)
                _problems.Add(text);
        }
    }

    public void VchanReceived(int generation, long total)
    {
        lock (_lock)
        {
            var (received, acknowledged) = _vchan.GetValueOrDefault(generation);
            _vchan[generation] = (Math.Max(received, total), acknowledged);
        }
    }

    public void VchanAcknowledged(int generation, long total)
    {
        lock (_lock)
        {
            var (received, acknowledged) = _vchan.GetValueOrDefault(generation);
            _vchan[generation] = (received, Math.Max(acknowledged, total));
        }
    }

    /// <summary>Both ends of vchan generation <paramref name="generation"/> are gone and their lines read: every byte the sender heard acknowledged must have reached the receiver.</summary>
    public void SettleVchan(int generation)
    {
        lock (_lock)
        {
            if (!_vchan.Remove(generation, out var books))
                return;
            VchanBytesReceived += books.Received;
            VchanBytesAcknowledged += books.Acknowledged;
            if (books.Acknowledged > books.Received)
            {
                VchanBytesLost += books.Acknowledged - books.Received;
                ProblemLocked($"vchan generation {generation}: the sender heard {books.Acknowledged} bytes acknowledged, the receiver read {books.Received}");
            }
        }
    }

    public void NetifReceived(int generation, long sequence)
    {
        lock (_lock)
            Netif(generation).Received.Add(sequence, sequence + 1);
    }

    public void NetifAcknowledged(int generation, long first, long last)
    {
        lock (_lock)
            Netif(generation).Acknowledged.Add(first, last + 1);
    }

    /// <summary>Both ends of netif generation <paramref name="generation"/> are gone: every frame the netfront got back must be one the netback reported receiving.</summary>
    public void SettleNetif(int generation)
    {
        lock (_lock)
        {
            if (!_netif.Remove(generation, out var books))
                return;
            NetifFramesReceived += books.Received.Count;
            NetifFramesAcknowledged += books.Acknowledged.Count;
            var missing = books.Acknowledged.CountMissingFrom(books.Received);
            if (missing > 0)
            {
                NetifFramesLost += missing;
                ProblemLocked($"netif generation {generation}: {missing} frames came back to the netfront that the netback never reported receiving");
            }
        }
    }

    public void BlkifIssued(int block, long version)
    {
        lock (_lock)
            _blocks.Issued(block, version);
    }

    public void BlkifAcknowledged(int block, long version)
    {
        lock (_lock)
        {
            _blocks.Acknowledged(block, version);
            BlkifWritesAcknowledged++;
        }
    }

    /// <summary>
    /// A block read back from the disk, by a frontend that started after every earlier writer was
    /// gone: it must hold the last acknowledged version or a later one that was issued (a write in
    /// flight when its writer died may or may not have landed).
    /// </summary>
    public void BlkifReadBack(int block, long version)
    {
        lock (_lock)
        {
            BlkifBlocksVerified++;
            var (acknowledged, issued) = _blocks[block];
            if (version < acknowledged)
            {
                BlkifWritesLost++;
                ProblemLocked($"blkif block {block}: read back version {version}, but version {acknowledged} was acknowledged");
            }
            else if (version > issued)
            {
                Corrupt++;
                ProblemLocked($"blkif block {block}: read back version {version}, which was never written (last issued {issued})");
            }
        }
    }

    public void XenstoreIssued(string key, long version)
    {
        lock (_lock)
            _keys.Issued(key, version);
    }

    public void XenstoreAcknowledged(string key, long version)
    {
        lock (_lock)
        {
            _keys.Acknowledged(key, version);
            XenstoreWritesAcknowledged++;
        }
    }

    /// <summary>A restarted daemon starts empty: what the last one acknowledged is no longer owed.</summary>
    public void XenstoreDaemonRestarted()
    {
        lock (_lock)
            _keys.Clear();
    }

    /// <summary>The acknowledged version of each key, taken before the keys are read back, so that a write acknowledged while they are read is not owed yet.</summary>
    public Dictionary<string, long> XenstoreSnapshot()
    {
        lock (_lock)
            return _keys.AcknowledgedVersions();
    }

    /// <summary>A key read back from the daemon (null: missing) against <paramref name="owed"/>, its acknowledged version when the read began.</summary>
    public void XenstoreReadBack(string key, long? version, long owed)
    {
        lock (_lock)
        {
            XenstoreKeysVerified++;
            var issued = _keys[key].IssuedMax;
            if ((version ?? 0) < owed)
            {
                XenstoreWritesLost++;
                ProblemLocked($"xenstore {key}: read back {(version is null ? "nothing" : "version " + version)}, but version {owed} was acknowledged");
            }
            else if (version > issued)
            {
                Corrupt++;
                ProblemLocked($"xenstore {key}: read back version {version}, which was never written (last issued {issued})");
            }
        }
    }

    public void CorruptData(string what)
    {
        lock (_lock)
        {
            Corrupt++;
            ProblemLocked(what);
        }
    }

    private (RangeSet Received, RangeSet Acknowledged) Netif(int generation)
    {
        if (!_netif.TryGetValue(generation, out var books))
            _netif[generation] = books = (new RangeSet(), new RangeSet());
        return books;
    }

    private void ProblemLocked(string text)
    {
        if (_problems.Count < 100)
            _problems.Add(text);
    }
}
