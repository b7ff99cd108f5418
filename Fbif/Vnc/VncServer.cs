using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fbif.Vnc;

/// <summary>
/// An RFB 3.8 server (RFC 6143) showing an <see cref="IFramebufferSource"/>: security None, Raw and
/// zlib encodings, the DesktopSize pseudo-encoding for resizes, and each client's keys and pointer
/// passed to an <see cref="IVncInput"/>. Updates are incremental: a client gets what the source
/// reported damaged since its last update, once it asks.
/// </summary>
/// <remarks>No .NET RFB server library is served to this project, so the protocol is written here.</remarks>
public sealed class VncServer : IAsyncDisposable
{
    private readonly IFramebufferSource _source;
    private readonly IVncInput? _input;
    private readonly VncServerOptions _options;
    private readonly ILogger _logger;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<RfbConnection> _clients = [];
    private readonly List<Task> _running = [];
    private Task _accepting = Task.CompletedTask;

    /// <summary>Creates the server; it listens once <see cref="Start"/> is called.</summary>
    public VncServer(IFramebufferSource source, IVncInput? input = null, VncServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _input = input;
        _options = options ?? new VncServerOptions();
        _logger = _options.Logger ?? NullLogger.Instance;
        _listener = new TcpListener(_options.EndPoint);
        _source.Damaged += OnDamaged;
        _source.Resized += OnResized;
    }

    /// <summary>Where the server listens (with the port the system chose, if 0 was asked).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Clients connected now.</summary>
    public int ClientCount
    {
        get
        {
            lock (_gate)
                return _clients.Count;
        }
    }

    /// <summary>Binds and starts accepting clients.</summary>
    /// <exception cref="SocketException">The address cannot be bound.</exception>
    public void Start()
    {
        _listener.Start();
        _accepting = AcceptAsync(_stop.Token);
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            socket.NoDelay = true;
            var client = new RfbConnection(socket, _source, _input, _options.Name);
            lock (_gate)
            {
                if (_clients.Count >= _options.MaxClients)
                {
                    socket.Dispose();
                    continue;
                }
                _clients.Add(client);
                _running.Add(ServeAsync(client, cancellationToken));
            }
        }
    }

    private async Task ServeAsync(RfbConnection client, CancellationToken cancellationToken)
    {
        Log.VncClientConnected(_logger, client.Remote);
        var reason = "closed";
        try
        {
            await client.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or InvalidDataException or OperationCanceledException or EndOfStreamException)
        {
            reason = e.Message;
        }
        finally
        {
            lock (_gate)
                _clients.Remove(client);
            await client.DisposeAsync().ConfigureAwait(false);
            Log.VncClientDisconnected(_logger, client.Remote, reason);
        }
    }

    private void OnDamaged(FramebufferRect rect)
    {
        lock (_gate)
        {
            foreach (var client in _clients)
                client.OnDamaged(rect);
        }
    }

    private void OnResized(FramebufferGeometry geometry)
    {
        lock (_gate)
        {
            foreach (var client in _clients)
                client.OnResized(geometry);
        }
    }

    /// <summary>Stops listening and disconnects every client.</summary>
    public async ValueTask DisposeAsync()
    {
        _source.Damaged -= OnDamaged;
        _source.Resized -= OnResized;
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        Task[] running;
        lock (_gate)
            running = [.. _running];
        await Task.WhenAll(running).ConfigureAwait(false);
        _stop.Dispose();
    }
}
