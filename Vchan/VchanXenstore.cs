using System.Globalization;
using Microsoft.Extensions.Logging;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Vchan;

/// <summary>
/// The vchan rendezvous in Xenstore, as libxenvchan and MirageOS place it: the server writes
/// <c>ring-ref</c> (the control page's grant) and <c>event-channel</c> (its port) under
/// <c>/local/domain/&lt;server&gt;/data/vchan/&lt;client&gt;/&lt;port&gt;</c> in one transaction, readable by
/// the client alone, and removes them when it closes; the client waits for them to appear.
/// </summary>
public static class VchanXenstore
{
    /// <summary>The Xenstore directory of the vchan named <paramref name="port"/> from <paramref name="serverDomain"/> to <paramref name="clientDomain"/>.</summary>
    /// <exception cref="ArgumentException">The port is not a Xenstore path element (letters, digits, <c>-</c>, <c>_</c>).</exception>
    public static string PathOf(ushort serverDomain, ushort clientDomain, string port)
    {
        ValidatePort(port);
        return string.Create(CultureInfo.InvariantCulture, $"/local/domain/{serverDomain}/data/vchan/{clientDomain}/{port}");
    }

    /// <summary>
    /// Opens a server end for <paramref name="clientDomain"/> and publishes its rendezvous. The store
    /// connection must act as the server's domain; disposing the endpoint removes the entries.
    /// </summary>
    /// <param name="events">The event-channel backend, acting as the server's domain.</param>
    /// <param name="memory">The grant backend, acting as the server's domain.</param>
    /// <param name="store">A Xenstore connection; it must stay open while the vchan does.</param>
    /// <param name="clientDomain">The only domain that may connect.</param>
    /// <param name="port">The vchan's name.</param>
    /// <param name="leftMin">The least bytes the client-to-server ring must hold.</param>
    /// <param name="rightMin">The least bytes the server-to-client ring must hold.</param>
    /// <param name="cancellationToken">Cancels the publication.</param>
    /// <param name="logger">Where the end logs its connect, close and the peer's faults; null for none.</param>
    public static async Task<VchanEndpoint<TEvents, TMemory>> ListenAsync<TEvents, TMemory>(TEvents events, TMemory memory, XenstoreClient store,
        ushort clientDomain, string port, int leftMin = 0, int rightMin = 0, CancellationToken cancellationToken = default, ILogger? logger = null)
        where TEvents : IEvents where TMemory : IMemory
    {
        ArgumentNullException.ThrowIfNull(store);
        var path = PathOf(events.LocalDomain, clientDomain, port);
        var endpoint = VchanEndpoint.Listen(events, memory, clientDomain, leftMin, rightMin, logger);
        try
        {
            // Owner: the server; everyone else: nothing; the client: read.
            var permissions = XsPermissions.Create(events.LocalDomain, XsAccess.None, new XsPermission(clientDomain, XsAccess.Read));
            var where = endpoint.Rendezvous;
            await store.TransactionAsync(async tx =>
            {
                await tx.WriteAsync(path + "/ring-ref", where.ControlPage.ToString(), cancellationToken).ConfigureAwait(false);
                await tx.SetPermissionsAsync(path + "/ring-ref", permissions, cancellationToken).ConfigureAwait(false);
                await tx.WriteAsync(path + "/event-channel", where.EventChannel.ToString(), cancellationToken).ConfigureAwait(false);
                await tx.SetPermissionsAsync(path + "/event-channel", permissions, cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            endpoint.Dispose();
            throw;
        }
        endpoint.OnClosed(async () =>
        {
            try
            {
                await store.RmAsync(path).ConfigureAwait(false);
            }
            catch (XenstoreException)
            {
                // The store connection is gone: nothing we can clean.
            }
            catch (ObjectDisposedException)
            {
            }
        });
        return endpoint;
    }

    /// <summary>
    /// Waits (up to <paramref name="timeout"/>) for the server's rendezvous to appear, then connects a client end.
    /// </summary>
    /// <param name="events">The event-channel backend, acting as the client's domain.</param>
    /// <param name="memory">The grant backend, acting as the client's domain.</param>
    /// <param name="store">A Xenstore connection acting as the client's domain.</param>
    /// <param name="serverDomain">The server's domain.</param>
    /// <param name="port">The vchan's name.</param>
    /// <param name="timeout">How long to wait for the server.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <param name="logger">Where the end logs its connect, close and the peer's faults; null for none.</param>
    /// <exception cref="TimeoutException">The server did not publish the vchan in time.</exception>
    /// <exception cref="VchanProtocolException">The published values are not numbers, or are 0.</exception>
    public static async Task<VchanEndpoint<TEvents, TMemory>> ConnectAsync<TEvents, TMemory>(TEvents events, TMemory memory, XenstoreClient store,
        ushort serverDomain, string port, TimeSpan timeout, CancellationToken cancellationToken = default, ILogger? logger = null)
        where TEvents : IEvents where TMemory : IMemory
    {
        ArgumentNullException.ThrowIfNull(store);
        var path = PathOf(serverDomain, events.LocalDomain, port);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        string? ringRef = null, eventChannel = null;
        try
        {
            await store.WaitUntilAsync(path, async c =>
            {
                (ringRef, eventChannel) = await ReadRendezvousAsync(c, path, deadline.Token).ConfigureAwait(false);
                return ringRef is not null && eventChannel is not null;
            }, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No vchan appeared at {path} within {timeout.TotalSeconds:0.###} s; is the server running, and is it serving domain {events.LocalDomain}?");
        }
        var rendezvous = new VchanRendezvous(ParseNonZero(ringRef!, path + "/ring-ref", static t => GrantRef.Parse(t).Value, static v => new GrantRef(v)),
            ParseNonZero(eventChannel!, path + "/event-channel", static t => Port.Parse(t).Value, static v => new Port(v)));
        return VchanEndpoint.Connect(events, memory, serverDomain, rendezvous, logger);
    }

    /// <summary>
    /// The server's <c>ring-ref</c> and <c>event-channel</c> at <paramref name="path"/> (null where missing), read in
    /// one transaction: a server that starts again on the same port rewrites both in one, so two plain
    /// reads could take the dead server's control page with the new server's port.
    /// </summary>
    internal static Task<(string? RingRef, string? EventChannel)> ReadRendezvousAsync(XenstoreClient store, string path, CancellationToken cancellationToken) =>
        store.TransactionAsync(async tx => (await tx.TryReadAsync(path + "/ring-ref", cancellationToken).ConfigureAwait(false),
            await tx.TryReadAsync(path + "/event-channel", cancellationToken).ConfigureAwait(false)), cancellationToken);

    /// <summary>
    /// Opens Xenstore at <paramref name="socketPath"/> (<see cref="XenstoreClient.OpenAsync"/>; null: <c>XENSTORED_PATH</c> and
    /// the usual places) and acts as <paramref name="domain"/>, after doing what Xen's toolstack does
    /// when it builds a domain: <c>/local/domain/&lt;domain&gt;</c> readable by the domain, and its
    /// <c>data</c> directory owned by it, where vchan servers publish (<see cref="PrepareDomainAsync"/>). For
    /// processes that play domains over the Unix backends; the socket's first connection acts as domain 0,
    /// as Xen's daemon's does.
    /// </summary>
    public static async Task<XenstoreClient> ConnectAsDomainAsync(string? socketPath, ushort domain, CancellationToken cancellationToken = default)
    {
        var store = await XenstoreClient.OpenAsync(socketPath, actAs: null, cancellationToken).ConfigureAwait(false);
        try
        {
            if (domain != 0)
            {
                await PrepareDomainAsync(store, domain, cancellationToken).ConfigureAwait(false);
                await store.ActAsDomainAsync(domain, cancellationToken).ConfigureAwait(false);
            }
            return store;
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Does, through a domain-0 connection, what Xen's toolstack does for a vchan end when it builds
    /// <paramref name="domain"/>: <c>/local/domain/&lt;domain&gt;</c> readable by the domain, its <c>domid</c>
    /// written there (libxenvchan's server reads it to name itself the owner of its entries), and its
    /// <c>data</c> directory owned by it, where vchan servers publish.
    /// </summary>
    /// <param name="dom0">A connection acting as domain 0.</param>
    /// <param name="domain">The domain to prepare.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    public static async Task PrepareDomainAsync(XenstoreClient dom0, ushort domain, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dom0);
        var home = string.Create(CultureInfo.InvariantCulture, $"/local/domain/{domain}");
        await dom0.MkdirAsync(home + "/data", cancellationToken).ConfigureAwait(false);
        await dom0.SetPermissionsAsync(home, XsPermissions.Create(0, XsAccess.None, new XsPermission(domain, XsAccess.Read)), cancellationToken).ConfigureAwait(false);
        await dom0.WriteAsync(home + "/domid", domain.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
        await dom0.SetPermissionsAsync(home + "/data", XsPermissions.Create(domain), cancellationToken).ConfigureAwait(false);
    }

    private static T ParseNonZero<T>(string text, string key, Func<string, uint> parse, Func<uint, T> make)
    {
        uint value;
        try
        {
            value = parse(text);
        }
        catch (FormatException)
        {
            throw new VchanProtocolException($"The server published '{text}' at {key}, which is not a number.");
        }
        // libxenvchan's client refuses 0 for both.
        return value != 0 ? make(value) : throw new VchanProtocolException($"The server published 0 at {key}.");
    }

    private static void ValidatePort(string port)
    {
        ArgumentException.ThrowIfNullOrEmpty(port);
        foreach (var c in port)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
                throw new ArgumentException($"The vchan port '{port}' may hold only letters, digits, '-' and '_'.", nameof(port));
        }
    }
}
