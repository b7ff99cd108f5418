namespace Xen.Store;

/// <summary>
/// One transaction: reads see the store as it was when it started plus its own writes; its writes
/// become visible, and fire watches, only when it commits. Get one from
/// <see cref="XenstoreClient.TransactionAsync{T}(Func{XenstoreTransaction, Task{T}}, CancellationToken)"/>.
/// </summary>
public sealed class XenstoreTransaction : XenstoreOperations
{
    private readonly XenstoreClient _client;

    internal XenstoreTransaction(XenstoreClient client, uint id)
    {
        _client = client;
        Id = id;
    }

    /// <summary>The daemon's id for the transaction, carried in every request's <c>tx_id</c>.</summary>
    public uint Id { get; }

    private protected override Task<byte[]> SendAsync(XsMessageType type, byte[] payload, CancellationToken cancellationToken) =>
        _client.RequestAsync(type, payload, Id, cancellationToken);

    private protected override Task<byte[]> SendPathAsync(XsMessageType type, string path, CancellationToken cancellationToken) =>
        _client.RequestAsync(type, path, Id, cancellationToken);

    private protected override ValueTask<int> ReadIntoAsync(string path, Memory<byte> destination, CancellationToken cancellationToken) =>
        _client.ReadIntoAsync(path, destination, Id, cancellationToken);
}

/// <summary>A watch notification: the path that changed (relative if the watch was) and the watch's token.</summary>
/// <param name="Path">The changed path, or the special path (<c>@releaseDomain</c>).</param>
/// <param name="Token">The token the watch was registered with.</param>
public readonly record struct WatchEvent(string Path, string Token);
