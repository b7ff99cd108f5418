namespace Xen.Store.Server;

/// <summary>The server's side of one connection: who it acts as, its transactions and watches, and its outbox.</summary>
internal sealed class ServerConnection(int id, ushort domain, long outputLimit)
{
    private readonly CancellationTokenSource _abort = new();

    public int Id { get; } = id;

    /// <summary>The domain the connection acts as; dom0 may lower it once with <c>restrict</c>.</summary>
    public ushort Domain { get; set; } = domain;

    // Replies go to the transport from the request loop, without waking the pump's thread.
    public Outbox Outbox { get; } = new(outputLimit, sendInline: true);

    public Dictionary<uint, Transaction> Transactions { get; } = [];

    public int WatchCount { get; set; }

    /// <summary>Cancelled when the server drops the connection.</summary>
    public CancellationToken Aborted => _abort.Token;

    /// <summary>Drops the connection: its read loop stops and nothing more is queued.</summary>
    public void Abort()
    {
        Outbox.Complete();
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public override string ToString() => $"connection {Id} (domain {Domain})";
}
