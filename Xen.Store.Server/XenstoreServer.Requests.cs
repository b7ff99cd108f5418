using System.Globalization;
using System.Text;

namespace Xen.Store.Server;

public sealed partial class XenstoreServer
{
    private static readonly byte[] Ok = "OK\0"u8.ToArray();

    private void Process(ServerConnection connection, XsWireHeader request, ReadOnlySpan<byte> payload)
    {
        XenstoreServerMetrics.RequestServed(request.Type);
        lock (_lock)
        {
            try
            {
                // The common read, on the committed store, outside Dispatch: its lambdas' captures
                // cost an allocation per call.
                if (request.Type == XsMessageType.Read && request.TxId == 0)
                    ReadCommitted(connection, request, payload);
                else
                    Dispatch(connection, request, payload);
            }
            catch (XenstoreException e)
            {
                if (e is QuotaException quota)
                {
                    XenstoreServerMetrics.QuotaHit(quota.Quota);
                    Log.QuotaHit(_logger, connection.Id, connection.Domain, quota.Quota, e.Message);
                }
                else if (e is MalformedRequestException malformed)
                {
                    Log.MalformedRequest(_logger, connection.Id, connection.Domain, request.Type, malformed.What);
                }
                Reply(connection, request, XsMessageType.Error, Encoding.ASCII.GetBytes(e.Error.Name() + "\0"));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A bug must not take the daemon down: edits publish only when complete, so the
                // store is as it was before the request.
                Log.RequestFailed(_logger, connection.Id, connection.Domain, request.Type, e);
                Reply(connection, request, XsMessageType.Error, "EIO\0"u8);
            }
        }
    }

    private void Dispatch(ServerConnection c, XsWireHeader request, ReadOnlySpan<byte> payload)
    {
        var caller = CallerOf(c);
        switch (request.Type)
        {
            case XsMessageType.Read:
            {
                var path = PathArg(c, payload);
                var value = InTransaction(c, request, view => _store.Read(caller, view, path));
                Reply(c, request, request.Type, value);
                break;
            }
            case XsMessageType.Write:
            {
                var nul = payload.IndexOf((byte)0);
                if (nul < 0)
                    throw Invalid("WRITE needs path|value");
                var path = Canonical(Latin1(payload[..nul]), c);
                var value = payload[(nul + 1)..].ToArray();
                Edit(c, request, view => _store.Write(caller, view, path, value));
                break;
            }
            case XsMessageType.Mkdir:
            {
                var path = PathArg(c, payload);
                Edit(c, request, view => _store.Mkdir(caller, view, path));
                break;
            }
            case XsMessageType.Rm:
            {
                var path = PathArg(c, payload);
                Edit(c, request, view => _store.Rm(caller, view, path));
                break;
            }
            case XsMessageType.Directory:
            {
                var path = PathArg(c, payload);
                var node = InTransaction(c, request, view => _store.Directory(caller, view, path));
                var length = 0;
                foreach (var name in node.Children.Keys)
                {
                    if (length + name.Length + 1 > XsWire.PayloadMax)
                        throw new XenstoreException(XsError.E2BIG, $"The children of {path} do not fit one reply; use DIRECTORY_PART.");
                    length += Encoding.Latin1.GetBytes(name, _reply.AsSpan(length));
                    _reply[length++] = 0;
                }
                Reply(c, request, request.Type, _reply.AsSpan(0, length));
                break;
            }
            case XsMessageType.DirectoryPart:
                DirectoryPart(c, request, caller, payload);
                break;
            case XsMessageType.GetPerms:
            {
                var args = Strings(payload, 1);
                var path = SpecialOrPath(args[0], c);
                var perms = InTransaction(c, request, view => _store.GetPerms(caller, view, path));
                Reply(c, request, request.Type, Latin1(string.Concat(perms.Entries.Select(e => e + "\0"))));
                break;
            }
            case XsMessageType.SetPerms:
            {
                var args = Strings(payload, 2, exact: false);
                var path = SpecialOrPath(args[0], c);
                var perms = XsPermissions.Parse(args.Skip(1).ToArray());
                if (args.Length > 1 && IsNoDomain(args[1]))
                    throw new XenstoreException(XsError.ENOENT, "The owner is not a domain.");
                if (perms is null)
                    throw Invalid("a permission is malformed");
                if (path.StartsWith('@'))
                {
                    _store.SetPerms(caller, _store.Begin(), path, perms);
                    Reply(c, request, request.Type, Ok);
                }
                else
                {
                    Edit(c, request, view => _store.SetPerms(caller, view, path, perms));
                }
                break;
            }
            case XsMessageType.Watch:
                AddWatch(c, request, payload);
                break;
            case XsMessageType.Unwatch:
            {
                var args = Strings(payload, 2, exact: false);
                var path = XsPath.CanonicalWatch(args[0], c.Domain) ?? throw Invalid("bad watch path");
                var token = Encoding.Latin1.GetBytes(args[1]);
                var index = _watches.FindIndex(w => w.Connection == c && w.Path == path && w.Token.AsSpan().SequenceEqual(token));
                if (index < 0)
                    throw new XenstoreException(XsError.ENOENT, "No such watch.");
                _watches.RemoveAt(index);
                c.WatchCount--;
                XenstoreServerMetrics.WatchesChanged(-1);
                Reply(c, request, request.Type, Ok);
                break;
            }
            case XsMessageType.TransactionStart:
                StartTransaction(c, request, payload);
                break;
            case XsMessageType.TransactionEnd:
                EndTransaction(c, request, payload);
                break;
            case XsMessageType.GetDomainPath:
                Reply(c, request, request.Type, Latin1(XsWire.DomainPath(DomainArg(Strings(payload, 1)[0])) + "\0"));
                break;
            case XsMessageType.IsDomainIntroduced:
            {
                var domain = DomainArg(Strings(payload, 1)[0]);
                Reply(c, request, request.Type, domain == 0 || _introduced.Contains(domain) ? "T\0"u8 : "F\0"u8);
                break;
            }
            case XsMessageType.Introduce:
            {
                RequirePrivileged(caller, "INTRODUCE");
                var args = Strings(payload, 3, exact: false);
                var domain = DomainArg(args[0]);
                if (domain == 0 || !long.TryParse(args[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var mfn)
                    || !uint.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
                    throw Invalid("INTRODUCE needs domid|mfn|port| for a domain other than 0");
                if (_introduced.Contains(domain))
                {
                    Reply(c, request, request.Type, Ok);
                    break;
                }
                // With shared pages enabled, the domain's page is mapped and served before it counts as introduced.
                _attachPage?.Invoke(domain, mfn, port);
                _introduced.Add(domain);
                XenstoreServerMetrics.DomainsChanged(1);
                Log.DomainIntroduced(_logger, domain);
                Reply(c, request, request.Type, Ok);
                FireSpecial(XsWire.IntroduceDomain);
                break;
            }
            case XsMessageType.Release:
            {
                RequirePrivileged(caller, "RELEASE");
                var domain = DomainArg(Strings(payload, 1)[0]);
                if (!_introduced.Contains(domain))
                    throw new XenstoreException(XsError.ENOENT, $"Domain {domain} was not introduced.");
                Release(domain, $"RELEASE from domain {c.Domain}", except: c, () => Reply(c, request, request.Type, Ok));
                break;
            }
            case XsMessageType.Resume:
            {
                RequirePrivileged(caller, "RESUME");
                var domain = DomainArg(Strings(payload, 1)[0]);
                if (!_introduced.Contains(domain))
                    throw new XenstoreException(XsError.ENOENT, $"Domain {domain} was not introduced.");
                // A domain that resumes after a shutdown (a cancelled suspend) is reported again if it shuts down again.
                _shutDown.Remove(domain);
                Reply(c, request, request.Type, Ok);
                break;
            }
            case XsMessageType.SetTarget:
            {
                RequirePrivileged(caller, "SET_TARGET");
                var args = Strings(payload, 2, exact: false);
                _targets[DomainArg(args[0])] = DomainArg(args[1]);
                Reply(c, request, request.Type, Ok);
                break;
            }
            case XsMessageType.ResetWatches:
                XenstoreServerMetrics.WatchesChanged(-_watches.RemoveAll(w => w.Connection == c));
                c.WatchCount = 0;
                c.Transactions.Clear();
                Reply(c, request, request.Type, Ok);
                break;
            case XsMessageType.Control:
                Control(c, request, caller, payload);
                break;
            default:
                throw new XenstoreException(XsError.ENOSYS, $"Unknown request type {(uint)request.Type}.");
        }
    }

    private void DirectoryPart(ServerConnection c, XsWireHeader request, Caller caller, ReadOnlySpan<byte> payload)
    {
        var args = Strings(payload, 2);
        var path = Canonical(args[0], c);
        if (!int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            throw Invalid("DIRECTORY_PART needs a byte offset");
        var node = InTransaction(c, request, view => _store.Directory(caller, view, path));
        var all = Latin1(string.Concat(node.Children.Keys.Select(k => k + "\0")));
        if (offset > all.Length)
            throw Invalid("DIRECTORY_PART offset beyond the list");
        var length = Encoding.ASCII.GetBytes(node.Generation.ToString(CultureInfo.InvariantCulture) + "\0", _reply);
        var start = offset;
        // Whole names only; an empty name after the last one says the list is complete.
        while (start < all.Length)
        {
            var end = Array.IndexOf(all, (byte)0, start) + 1;
            if (length + (end - start) + 1 > XsWire.PayloadMax)
                break;
            all.AsSpan(start, end - start).CopyTo(_reply.AsSpan(length));
            length += end - start;
            start = end;
        }
        if (start == all.Length)
            _reply[length++] = 0;
        Reply(c, request, request.Type, _reply.AsSpan(0, length));
    }

    private void AddWatch(ServerConnection c, XsWireHeader request, ReadOnlySpan<byte> payload)
    {
        var args = Strings(payload, 2, exact: false);
        var path = XsPath.CanonicalWatch(args[0], c.Domain) ?? throw Invalid("bad watch path");
        var token = Encoding.Latin1.GetBytes(args[1]);
        // An event carries a path of up to XENSTORE_ABS_PATH_MAX and the token; both must fit one message.
        if (XsWire.AbsPathMax + 2 + token.Length > XsWire.PayloadMax)
            throw new XenstoreException(XsError.E2BIG, "Watch tokens are limited to 1022 bytes.");
        if (_watches.Exists(w => w.Connection == c && w.Path == path && w.Token.AsSpan().SequenceEqual(token)))
            throw new XenstoreException(XsError.EEXIST, "The watch exists.");
        if (c.WatchCount >= _watchesPerConnection)
            throw new QuotaException(Quota.Watches, XsError.E2BIG, $"A connection may hold {_watchesPerConnection} watches.");
        var relative = !args[0].StartsWith('/') && !path.StartsWith('@') ? XsWire.DomainPath(c.Domain) : null;
        var watch = new Watch(c, path, token, relative);
        _watches.Add(watch);
        c.WatchCount++;
        XenstoreServerMetrics.WatchesChanged(1);
        Reply(c, request, request.Type, Ok);
        // Fires once at once, so that a watcher never misses the state it started from.
        Deliver(watch, path);
    }

    private void StartTransaction(ServerConnection c, XsWireHeader request, ReadOnlySpan<byte> payload)
    {
        if (request.TxId != 0)
            throw new XenstoreException(XsError.EBUSY, "TRANSACTION_START inside a transaction.");
        if (payload.Length > 1 || (payload.Length == 1 && payload[0] != 0))
            throw Invalid("TRANSACTION_START takes an empty argument");
        if (c.Transactions.Count >= _transactionsPerConnection)
            throw new QuotaException(Quota.Transactions, XsError.ENOSPC, $"A connection may hold {_transactionsPerConnection} transactions.");
        do
        {
            _nextTransaction++;
        }
        while (_nextTransaction == 0 || c.Transactions.ContainsKey(_nextTransaction));
        var tx = new Transaction(_nextTransaction, _store.Begin(transaction: true));
        c.Transactions.Add(tx.Id, tx);
        Reply(c, request, request.Type, Latin1(tx.Id.ToString(CultureInfo.InvariantCulture) + "\0"));
    }

    private void EndTransaction(ServerConnection c, XsWireHeader request, ReadOnlySpan<byte> payload)
    {
        var commit = Strings(payload, 1)[0] switch
        {
            "T" => true,
            "F" => false,
            _ => throw Invalid("TRANSACTION_END takes T or F"),
        };
        if (!c.Transactions.Remove(request.TxId, out var tx))
            throw new XenstoreException(XsError.ENOENT, $"No transaction {request.TxId}.");
        if (commit)
        {
            if (!_store.Unchanged(tx.View))
                throw new XenstoreException(XsError.EAGAIN, $"Transaction {tx.Id} conflicts with a commit.");
            var view = _store.Begin();
            foreach (var edit in tx.Log)
                edit(view);
            var changes = _store.Publish(view);
            Reply(c, request, request.Type, Ok);
            Fire(changes);
            return;
        }
        Reply(c, request, request.Type, Ok);
    }

    /// <summary>
    /// A well-formed entry naming an id that no domain can have (at or above <c>DOMID_FIRST_RESERVED</c>):
    /// Xen's C daemon answers <c>ENOENT</c> for an owner it does not know, where a malformed entry is <c>EINVAL</c>.
    /// </summary>
    private static bool IsNoDomain(string entry) =>
        entry.Length >= 2 && entry[0] is 'n' or 'r' or 'w' or 'b' && entry.AsSpan(1).IndexOfAnyExceptInRange('0', '9') < 0
        && (entry.Length > 6 || int.Parse(entry.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture) >= 0x7FF0);

    /// <summary>Runs a read in the request's transaction, or on the committed store.</summary>
    private T InTransaction<T>(ServerConnection c, XsWireHeader request, Func<StoreView, T> read)
    {
        if (request.TxId == 0)
            return read(_store.Begin());
        return read(TransactionOf(c, request).View);
    }

    /// <summary>Runs an edit in the request's transaction (to replay at commit), or commits it and fires its watches.</summary>
    private void Edit(ServerConnection c, XsWireHeader request, Action<StoreView> edit)
    {
        if (request.TxId != 0)
        {
            var tx = TransactionOf(c, request);
            edit(tx.View);
            tx.Log.Add(edit);
            Reply(c, request, request.Type, Ok);
            return;
        }
        var view = _store.Begin();
        edit(view);
        var changes = _store.Publish(view);
        Reply(c, request, request.Type, Ok);
        Fire(changes);
    }

    private static Transaction TransactionOf(ServerConnection c, XsWireHeader request) =>
        c.Transactions.TryGetValue(request.TxId, out var tx) ? tx : throw new XenstoreException(XsError.ENOENT, $"No transaction {request.TxId}.");

    private void Fire(List<Change> changes)
    {
        foreach (var change in changes)
        {
            // Who may see a change is decided by the node as it ends up (a transaction may create a
            // node and then hide it), or as it was when it is gone.
            var perms = change.Removed is null ? _store.Root.Find(XsPath.Segments(change.Path))?.Perms ?? change.Perms : change.Perms;
            foreach (var watch in _watches.ToArray())
            {
                if (watch.Path.StartsWith('@'))
                    continue;
                if (XsPath.IsAtOrBelow(change.Path, watch.Path))
                {
                    if (MayRead(watch, perms))
                        Deliver(watch, change.Path);
                }
                else if (change.Removed is not null && XsPath.IsAtOrBelow(watch.Path, change.Path))
                {
                    // A removal also reaches watches on nodes below it, reported with the watch's own path.
                    var below = change.Removed.Find(watch.Path[(change.Path.Length + 1)..].Split('/'));
                    if (below is not null && MayRead(watch, below.Perms))
                        Deliver(watch, watch.Path);
                }
            }
        }
    }

    private void FireSpecial(string path)
    {
        foreach (var watch in _watches.ToArray())
        {
            if (watch.Path == path && _store.MayWatchSpecial(CallerOf(watch.Connection), path))
                Deliver(watch, path);
        }
    }

    private bool MayRead(Watch watch, XsPermissions perms) => (CallerOf(watch.Connection).AccessTo(perms) & XsAccess.Read) != 0;

    private void Deliver(Watch watch, string path)
    {
        var reported = watch.Report(path);
        var length = Encoding.Latin1.GetBytes(reported, _reply);
        _reply[length++] = 0;
        watch.Token.CopyTo(_reply, length);
        length += watch.Token.Length;
        _reply[length++] = 0;
        if (!watch.Connection.Outbox.TryWrite(XsMessageType.WatchEvent, 0, 0, _reply.AsSpan(0, length), evenOverLimit: false)
            && !watch.Connection.Aborted.IsCancellationRequested)
        {
            XenstoreServerMetrics.QuotaHit(Quota.Output);
            Log.QuotaHit(_logger, watch.Connection.Id, watch.Connection.Domain, Quota.Output,
                $"a watch event would pass the {_options.MaxPendingOutputBytes} bytes waiting for it; dropping it");
            watch.Connection.Abort();
        }
    }

    private void Reply(ServerConnection c, XsWireHeader request, XsMessageType type, ReadOnlySpan<byte> payload) =>
        c.Outbox.TryWrite(type, request.ReqId, request.TxId, payload);

    private Caller CallerOf(ServerConnection c) => new(c.Domain, _targets.TryGetValue(c.Domain, out var t) ? t : null);

    private static void RequirePrivileged(Caller caller, string what)
    {
        if (!caller.Privileged)
            throw new XenstoreException(XsError.EACCES, $"Only dom0 may {what}.");
    }

    /// <summary>
    /// The one path argument of READ, MKDIR, RM, DIRECTORY. A payload that is not exactly one NUL-terminated
    /// string names no node: <c>ENOENT</c>, as Xen's C daemon answers (a bad path itself is <c>EINVAL</c>).
    /// </summary>
    private static string PathArg(ServerConnection c, ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty || payload.IndexOf((byte)0) != payload.Length - 1)
            throw new MalformedRequestException(XsError.ENOENT, "expected one path and its NUL");
        return Canonical(Latin1(payload[..^1]), c);
    }

    private void ReadCommitted(ServerConnection c, XsWireHeader request, ReadOnlySpan<byte> payload)
    {
        var (path, segments) = CachedPathArg(c, payload);
        Reply(c, request, request.Type, _store.ReadCommitted(CallerOf(c), path, segments).Value);
    }

    /// <summary><see cref="PathArg"/> with the path's segments, from <see cref="_paths"/> when it holds them.</summary>
    private (string Path, string[] Segments) CachedPathArg(ServerConnection c, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > 1 && payload.IndexOf((byte)0) == payload.Length - 1 && _paths.TryGet(payload[..^1], out var cached, out var segments))
            return (cached, segments);
        var path = PathArg(c, payload);
        // Only a path sent in its absolute form is its own key.
        if (payload[0] == (byte)'/')
            _paths.Add(path);
        return (path, XsPath.Segments(path));
    }

    private static string Canonical(string path, ServerConnection c) =>
        XsPath.Canonical(path, c.Domain) ?? throw Invalid($"bad path '{path}'");

    private static string SpecialOrPath(string path, ServerConnection c) =>
        path is XsWire.IntroduceDomain or XsWire.ReleaseDomain ? path : Canonical(path, c);

    private static ushort DomainArg(string text) =>
        ushort.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var domain) ? domain : throw Invalid($"bad domain id '{text}'");

    /// <summary>The NUL-terminated strings of a payload: exactly <paramref name="count"/>, or at least that many.</summary>
    private static string[] Strings(ReadOnlySpan<byte> payload, int count, bool exact = true)
    {
        if (payload.IsEmpty || payload[^1] != 0)
            throw Invalid("the arguments must end with a NUL");
        var result = new List<string>(count);
        while (!payload.IsEmpty)
        {
            var nul = payload.IndexOf((byte)0);
            result.Add(Latin1(payload[..nul]));
            payload = payload[(nul + 1)..];
        }
        if (result.Count < count || (exact && result.Count != count))
            throw Invalid($"expected {count} argument(s), got {result.Count}");
        return result.ToArray();
    }

    private static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    private static MalformedRequestException Invalid(string why) => new(XsError.EINVAL, why);
}
