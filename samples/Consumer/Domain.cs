namespace Consumer;

/// <summary>
/// One domain of the selected backend, and the domain it talks to. Nothing here names a backend:
/// <c>XenBackend</c>, <c>XenDomain</c>, <c>XenEvents</c> and <c>XenMemory</c> come from the selected
/// backend package; the drivers are opened with their own static methods over <see cref="Events"/>
/// and <see cref="Memory"/>.
/// </summary>
internal sealed class Domain(XenDomain domain, ushort peer) : IDisposable
{
    public XenEvents Events => domain.Events;

    public XenMemory Memory => domain.Memory;

    public ushort Id => domain.Id;

    /// <summary>The domain this one talks to.</summary>
    public ushort Peer { get; } = peer;

    /// <summary>Opens the domain now: a backend that cannot run here says so at once.</summary>
    public static async Task<Domain> OpenAsync(ushort id, ushort peer, CancellationToken cancellationToken) =>
        new(await XenBackend.OpenDomainAsync(id, cancellationToken: cancellationToken), peer);

    /// <summary>The domain disposes its memory (its unmap notifications can still be sent), then its events.</summary>
    public void Dispose() => domain.Dispose();
}
