using System.Diagnostics;
using System.Globalization;
using Xen.Store;
using Xen.Store.Server;

namespace Mirage.Cli.Commands;

/// <summary>One soak: the processes, the kill schedule, the books and the report.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class SoakRun(TimeSpan duration, int seed, TimeSpan noticeBound, HashSet<string> faults)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(10);

    private readonly SoakLedger _ledger = new();
    private readonly Random _random = new(seed);
    private readonly Dictionary<string, int> _kills = [];
    private readonly List<SoakPair> _pairs = [];
    private string _folder = "", _root = "", _toolstackSocket = "", _daemonSocket = "", _image = "";
    private int _deaths, _noticed, _restarts, _xenstoreChecks, _blkifChecks;
    private TimeSpan _slowestNotice, _traffic;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        _folder = Directory.CreateTempSubdirectory("mirage-soak-").FullName;
        // The shared pages on tmpfs, as the Unix backends keep them by default.
        _root = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : _folder, Path.GetFileName(_folder));
        Directory.CreateDirectory(_root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _toolstackSocket = Path.Combine(_folder, "toolstack.sock");
        _daemonSocket = Path.Combine(_folder, "xenstored.sock");
        _image = Path.Combine(_root, "disk.img");
        using (var image = File.Create(_image))
            image.SetLength((long)SoakPeers.Blocks * SoakPeers.BlockSize);

        // The drivers meet through a daemon in this process, which the soak never kills; the Xenstore
        // traffic goes to a `mirage xenstored` of its own, which it does.
        using var serving = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var toolstack = new XenstoreServer(new XenstoreServerOptions());
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = toolstack.ListenAsync(_toolstackSocket, listening.SetResult, serving.Token);
        var clock = Stopwatch.StartNew();
        try
        {
            await listening.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
            DefinePairs();
            Console.WriteLine($"soak: {duration.TotalSeconds:0} s of traffic, seed {seed}, deaths to be noticed within {noticeBound.TotalSeconds:0.#} s; "
                + $"pairs: {string.Join(", ", _pairs.Select(p => $"{p.Name} ({string.Join(" + ", p.Roles)})"))}");
            foreach (var pair in _pairs)
                await StartPairAsync(pair, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"soak: every pair is up after {clock.Elapsed.TotalSeconds:0.0} s; traffic and kills start");
            await SoakAsync(cancellationToken).ConfigureAwait(false);
            await FinishAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine("soak: interrupted");
            await StopAllAsync().ConfigureAwait(false);
            return 130;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or XenstoreException or TimeoutException or OperationCanceledException)
        {
            // A pair that would not come up, or a daemon gone when its keys were to be read: the run fails, with its books so far.
            _ledger.Problem("the soak could not go on: " + e.Message);
        }
        finally
        {
            await StopAllAsync().ConfigureAwait(false);
            await serving.CancelAsync().ConfigureAwait(false);
            try
            {
                await server.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            Directory.Delete(_folder, recursive: true);
            Directory.Delete(_root, recursive: true);
        }
        return Report(clock.Elapsed);
    }

    private void DefinePairs()
    {
        var toolstack = new Dictionary<string, string> { ["XEN_ROOT"] = _root, ["XENSTORED_PATH"] = _toolstackSocket };
        Func<SoakPair, int, SoakParty> Peer(string role, string fault, string started, string ready, Action<SoakPair, int, string> books, Dictionary<string, string>? extra = null) =>
            (pair, generation) =>
            {
                var environment = new Dictionary<string, string>(toolstack) { [SoakPeers.GenerationVariable] = N(generation) };
                if (generation == 1 && faults.Contains(fault))
                    environment[SoakPeers.FaultVariable] = "1";
                foreach (var (k, v) in extra ?? [])
                    environment[k] = v;
                return SoakParty.Start(role, ["soak", "--peer", role], environment, started, ready, line => books(pair, generation, line));
            };
        Action<SoakPair, int, string> vchan = (_, g, line) => Book(line, "vchan-received", v => _ledger.VchanReceived(g, v), "vchan-acked", v => _ledger.VchanAcknowledged(g, v), "vchan-bad", v => _ledger.CorruptData($"vchan generation {g}: byte {v} changed"));
        Action<SoakPair, int, string> netif = (_, g, line) => Book(line, "net-received", v => _ledger.NetifReceived(g, v), "net-acknowledged", v => _ledger.NetifAcknowledged(g, v, v), "net-bad", v => _ledger.CorruptData($"netif generation {g}: frame {v} changed"));
        _pairs.Add(new SoakPair("vchan", ["vchan-send", "vchan-receive"],
            Peer("vchan-send", "vchan", "listening", "ready", vchan),
            Peer("vchan-receive", "vchan", "ready", "ready", vchan)));
        _pairs.Add(new SoakPair("netif", ["netback", "netfront"],
            Peer("netback", "netif", "serving", "ready", netif),
            Peer("netfront", "netif", "ready", "ready", netif)));
        _pairs.Add(new SoakPair("blkif", ["blkback", "blkfront"],
            (pair, generation) =>
            {
                var device = SoakPeers.BlkifDevice(generation);
                return SoakParty.Start("blkback",
                    ["blkback", "--file", _image, "--domain", N(SoakPeers.Blkback), "--frontend-domain", N(SoakPeers.Blkfront), "--device", N(device.DeviceId)],
                    toolstack, "blkback: serving", "blkback: serving", _ => { });
            },
            Peer("blkfront", "blkif", "connected", "ready", BlkifBooks)));
        _pairs.Add(new SoakPair("xenstore", ["xenstored", "xenstore-client"],
            (_, _) => SoakParty.Start("xenstored", ["xenstored", "--socket", _daemonSocket, "--quiet"], toolstack, "xenstored: ready on", "xenstored: ready on", _ => { }),
            Peer("xenstore", "xenstore", "ready", "ready", XenstoreBooks, new() { [SoakPeers.DaemonVariable] = _daemonSocket })));
    }

    private void BlkifBooks(SoakPair pair, int generation, string line)
    {
        if (line == "verified")
            Interlocked.Increment(ref _blkifChecks);
        var parts = line.Split(' ');
        if (parts.Length != 3 || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var block) || !long.TryParse(parts[2], CultureInfo.InvariantCulture, out var version))
            return;
        switch (parts[0])
        {
            case "blk-issue":
                _ledger.BlkifIssued(block, version);
                break;
            case "blk-acknowledged":
                _ledger.BlkifAcknowledged(block, version);
                break;
            case "blk-read" when version < 0:
                _ledger.CorruptData($"blkif block {block}: read back content that matches no write (generation {generation})");
                break;
            case "blk-read":
                _ledger.BlkifReadBack(block, version);
                break;
        }
    }

    private void XenstoreBooks(SoakPair pair, int generation, string line)
    {
        var parts = line.Split(' ');
        if (parts.Length != 3 || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var key) || !long.TryParse(parts[2], CultureInfo.InvariantCulture, out var version))
            return;
        if (parts[0] == "xs-issue")
            _ledger.XenstoreIssued(SoakPeers.KeyPath(key), version);
        else if (parts[0] == "xs-acknowledged")
            _ledger.XenstoreAcknowledged(SoakPeers.KeyPath(key), version);
    }

    private static void Book(string line, string a, Action<long> onA, string b, Action<long> onB, string c, Action<long> onC)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0 || !long.TryParse(line.AsSpan(space + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            return;
        var word = line.AsSpan(0, space);
        if (word.SequenceEqual(a))
            onA(value);
        else if (word.SequenceEqual(b))
            onB(value);
        else if (word.SequenceEqual(c))
            onC(value);
    }

    private async Task StartPairAsync(SoakPair pair, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await pair.StartAsync(StartTimeout, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is OperationCanceledException or InvalidOperationException)
            {
                _ledger.Problem($"{pair} did not come up: {e.Message} {string.Join("; ", pair.Running.Select(p => p.Name + ": " + p.Errors))}");
                await StopPairAsync(pair).ConfigureAwait(false);
                if (attempt == 3)
                    throw new InvalidOperationException($"{pair.Name} did not come up three times: see the problems above.");
            }
        }
    }

    private async Task SoakAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var nextKill = NextKill(TimeSpan.Zero);
        var nextProgress = ProgressEvery;
        while ((_traffic = clock.Elapsed) < duration)
        {
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            foreach (var pair in _pairs)
            {
                if (pair.Running.FirstOrDefault(p => p.HasExited && !p.Killed) is { } quit)
                {
                    _ledger.Problem($"{pair}: {quit.Name} exited on its own with {quit.ExitCode}: {quit.Errors}");
                    await RestartAsync(pair, cancellationToken).ConfigureAwait(false);
                }
            }
            if (clock.Elapsed >= nextProgress)
            {
                Progress(clock.Elapsed);
                nextProgress += ProgressEvery;
            }
            if (clock.Elapsed >= nextKill)
            {
                var pair = _pairs[_random.Next(_pairs.Count)];
                var victim = _random.Next(2);
                await KillAsync(pair, victim, cancellationToken).ConfigureAwait(false);
                nextKill = NextKill(clock.Elapsed);
            }
        }
        Progress(clock.Elapsed);
    }

    // A kill every 2 to 6 seconds.
    private TimeSpan NextKill(TimeSpan now) => now + TimeSpan.FromMilliseconds(_random.Next(2000, 6000));

    private async Task KillAsync(SoakPair pair, int victimIndex, CancellationToken cancellationToken)
    {
        if (!pair.IsUp || pair.Party(victimIndex) is not { } victim || pair.Party(1 - victimIndex) is not { } survivor)
            return;
        _kills[victim.Name] = _kills.GetValueOrDefault(victim.Name) + 1;
        var killedAt = Stopwatch.GetTimestamp();
        victim.Kill();
        // The daemon has nothing to notice when a client dies; every other survivor does.
        var mustNotice = !(pair.Name == "xenstore" && victimIndex == 1);
        if (mustNotice)
        {
            _deaths++;
            await Task.WhenAny(survivor.Noticed, Task.Delay(noticeBound, cancellationToken)).ConfigureAwait(false);
            var took = Stopwatch.GetElapsedTime(killedAt);
            if (survivor.Noticed.IsCompleted)
            {
                _noticed++;
                if (took > _slowestNotice)
                    _slowestNotice = took;
            }
            else
            {
                _ledger.Problem($"{pair}: {survivor.Name} did not notice within {noticeBound.TotalSeconds:0.#} s that {victim.Name} was killed: {survivor.Errors}");
            }
        }
        await victim.DrainAsync().ConfigureAwait(false);
        pair.Forget(victim);
        if (pair.Name == "xenstore")
        {
            if (victimIndex == 1)
            {
                // The client is gone and its lines are read: the daemon must hold every write it acknowledged.
                await CheckXenstoreAsync(cancellationToken).ConfigureAwait(false);
                await StartPairAsync(pair, cancellationToken).ConfigureAwait(false);
                _restarts++;
                return;
            }
        }
        await RestartAsync(pair, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops what is left of the pair, closes its books, starts the next generation.</summary>
    private async Task RestartAsync(SoakPair pair, CancellationToken cancellationToken)
    {
        await StopPairAsync(pair).ConfigureAwait(false);
        await StartPairAsync(pair, cancellationToken).ConfigureAwait(false);
        _restarts++;
    }

    private async Task StopPairAsync(SoakPair pair)
    {
        // The last started first: a frontend or receiver, whose peer then reads what is left and the end.
        // A survivor that noticed exits by itself; the grace covers one that releases its pages first.
        foreach (var party in pair.Running.Reverse().ToArray())
        {
            await party.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            pair.Forget(party);
        }
        Settle(pair);
        await RemoveDevicesAsync(pair.Name, pair.Generation).ConfigureAwait(false);
    }

    /// <summary>
    /// The toolstack's part when a generation is gone, as xl does when it destroys a device: its
    /// directories go. Left behind, they would fill the domains' node quota within a long run.
    /// </summary>
    private async Task RemoveDevicesAsync(string pair, int generation)
    {
        string[] paths = pair switch
        {
            "vchan" => [Vchan.VchanXenstore.PathOf(SoakPeers.VchanServer, SoakPeers.VchanClient, SoakPeers.VchanPort(generation))],
            "netif" => [SoakPeers.NetifDevice(generation).FrontendPath, SoakPeers.NetifDevice(generation).BackendPath],
            "blkif" => [SoakPeers.BlkifDevice(generation).FrontendPath, SoakPeers.BlkifDevice(generation).BackendPath],
            _ => [],
        };
        if (paths.Length == 0)
            return;
        await using var dom0 = await XenstoreClient.ConnectAsync(_toolstackSocket).ConfigureAwait(false);
        foreach (var path in paths)
        {
            try
            {
                await dom0.RmAsync(path).ConfigureAwait(false);
            }
            catch (XenstoreException e) when (e.Error == XsError.ENOENT)
            {
                // Never written, or its parent is gone too.
            }
        }
    }

    private void Settle(SoakPair pair)
    {
        switch (pair.Name)
        {
            case "vchan":
                _ledger.SettleVchan(pair.Generation);
                break;
            case "netif":
                _ledger.SettleNetif(pair.Generation);
                break;
            case "xenstore":
                _ledger.XenstoreDaemonRestarted();
                break;
        }
    }

    /// <summary>Reads every key back from the daemon, against what was acknowledged before the reads began.</summary>
    private async Task CheckXenstoreAsync(CancellationToken cancellationToken)
    {
        var owed = _ledger.XenstoreSnapshot();
        await using var client = await XenstoreClient.ConnectAsync(_daemonSocket, cancellationToken).ConfigureAwait(false);
        for (var key = 0; key < SoakPeers.Keys; key++)
        {
            var path = SoakPeers.KeyPath(key);
            var text = await client.TryReadAsync(path, cancellationToken).ConfigureAwait(false);
            long? version = text is null ? null : long.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
            _ledger.XenstoreReadBack(path, version, owed.GetValueOrDefault(path));
        }
        _xenstoreChecks++;
    }

    private async Task FinishAsync(CancellationToken cancellationToken)
    {
        Console.WriteLine("soak: time is up; stopping the traffic and reading everything back");
        // Xenstore: the client stops, then every key is read back from the daemon still running.
        var xenstore = _pairs.Single(p => p.Name == "xenstore");
        if (xenstore.Party(1) is { } client)
        {
            await client.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            xenstore.Forget(client);
        }
        if (xenstore.Party(0) is { HasExited: false })
            await CheckXenstoreAsync(cancellationToken).ConfigureAwait(false);
        foreach (var pair in _pairs)
            await StopPairAsync(pair).ConfigureAwait(false);
        // Blkif: a last frontend reads every block back.
        var blkif = _pairs.Single(p => p.Name == "blkif");
        await StartVerifierAsync(blkif, cancellationToken).ConfigureAwait(false);
    }

    private async Task StartVerifierAsync(SoakPair blkif, CancellationToken cancellationToken)
    {
        var generation = blkif.Generation + 1;
        var toolstack = new Dictionary<string, string> { ["XEN_ROOT"] = _root, ["XENSTORED_PATH"] = _toolstackSocket };
        var device = SoakPeers.BlkifDevice(generation);
        var back = SoakParty.Start("blkback",
            ["blkback", "--file", _image, "--domain", N(SoakPeers.Blkback), "--frontend-domain", N(SoakPeers.Blkfront), "--device", N(device.DeviceId)],
            toolstack, "blkback: serving", "blkback: serving", _ => { });
        await back.Started.WaitAsync(StartTimeout, cancellationToken).ConfigureAwait(false);
        var environment = new Dictionary<string, string>(toolstack)
        {
            [SoakPeers.GenerationVariable] = N(generation),
            [SoakPeers.VerifyOnlyVariable] = "1",
        };
        var front = SoakParty.Start("blkfront", ["soak", "--peer", "blkfront"], environment, "connected", "verified", line => BlkifBooks(blkif, generation, line));
        await Task.WhenAny(front.Exited, Task.Delay(StartTimeout, cancellationToken)).ConfigureAwait(false);
        await front.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        await back.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        await RemoveDevicesAsync(blkif.Name, generation).ConfigureAwait(false);
        if (!front.Ready.IsCompletedSuccessfully)
            _ledger.Problem($"blkif: the last frontend did not read the disk back: {front.Errors} {back.Errors}");
    }

    private async Task StopAllAsync()
    {
        foreach (var pair in _pairs)
        {
            foreach (var party in pair.Running.ToArray())
            {
                await party.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                pair.Forget(party);
            }
        }
    }

    private void Progress(TimeSpan elapsed)
    {
        var l = _ledger;
        Console.WriteLine($"soak: {elapsed.TotalSeconds,5:0} s: {_kills.Values.Sum()} kills, {_restarts} restarts; acknowledged: "
            + $"vchan {l.VchanBytesAcknowledgedLive / 1048576.0:N1} MiB, netif {l.NetifFramesAcknowledgedLive:N0} frames, "
            + $"blkif {l.BlkifWritesAcknowledged:N0} writes, xenstore {l.XenstoreWritesAcknowledged:N0} writes; lost {l.Lost:N0}, corrupt {l.Corrupt:N0}");
    }

    private int Report(TimeSpan elapsed)
    {
        var l = _ledger;
        Console.WriteLine($"soak: ran {elapsed.TotalSeconds:0} s in all, {_traffic.TotalSeconds:0} s of traffic of the {duration.TotalSeconds:0} s asked, seed {seed}");
        Console.WriteLine($"soak: kills {_kills.Values.Sum()} ({string.Join(", ", _kills.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value}"))}), restarts {_restarts}");
        Console.WriteLine($"soak: vchan     {l.VchanBytesAcknowledged:N0} bytes acknowledged, {l.VchanBytesReceived:N0} received; lost {l.VchanBytesLost:N0} bytes");
        Console.WriteLine($"soak: netif     {l.NetifFramesAcknowledged:N0} frames came back, {l.NetifFramesReceived:N0} reported by the netback; lost {l.NetifFramesLost:N0} frames");
        Console.WriteLine($"soak: blkif     {l.BlkifWritesAcknowledged:N0} writes acknowledged, {l.BlkifBlocksVerified:N0} blocks read back in {Passes(_blkifChecks)}; lost {l.BlkifWritesLost:N0} writes");
        Console.WriteLine($"soak: xenstore  {l.XenstoreWritesAcknowledged:N0} writes acknowledged, {l.XenstoreKeysVerified:N0} keys read back in {Passes(_xenstoreChecks)}; lost {l.XenstoreWritesLost:N0} writes");
        Console.WriteLine($"soak: deaths noticed {_noticed} of {_deaths} within {noticeBound.TotalSeconds:0.#} s (slowest {_slowestNotice.TotalMilliseconds:N0} ms)");
        var problems = l.Problems;
        foreach (var p in problems)
            Console.WriteLine("soak: problem: " + p);
        var pass = l.Lost == 0 && l.Corrupt == 0 && _noticed == _deaths && problems.Count == 0;
        Console.WriteLine($"soak: lost {l.Lost:N0}, corrupt {l.Corrupt:N0}, unnoticed deaths {_deaths - _noticed}: {(pass ? "PASS" : "FAIL")}");
        return pass ? 0 : 1;
    }

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Passes(int n) => n == 1 ? "1 pass" : N(n) + " passes";
}
