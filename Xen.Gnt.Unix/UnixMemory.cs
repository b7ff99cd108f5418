namespace Xen.Gnt.Unix;

/// <summary>
/// Grant tables between ordinary Linux processes: a grant is a 4096-byte page file under the root
/// folder, mapped with <c>mmap(MAP_SHARED)</c>, with a sidecar naming the one domain that may map it
/// and whether it is writable. Unmap notifications fire on a clean unmap and when a process dies. The
/// convention is in <c>docs/unix-backend.md</c>.
/// </summary>
/// <remarks>A struct over one shared state, so drivers generic over <c>TMemory</c> are specialised by the
/// JIT. Copies share the state; dispose one of them, once.</remarks>
public readonly struct UnixMemory : IMemory
{
    private readonly MemoryDomain _domain;

    /// <summary>Joins the domain's folder and starts serving mappers of this process's pages.</summary>
    /// <param name="options">The root folder and domain id.</param>
    /// <param name="sendEvent">Sends an event on a local port, for notifications with an
    /// <see cref="UnmapNotify.EventPort"/> (usually the events backend's <c>Send</c>); null ignores them.</param>
    /// <exception cref="InvalidOperationException">No domain id is configured.</exception>
    /// <exception cref="IOException">The root folder cannot be used.</exception>
    public UnixMemory(UnixMemoryOptions options, Action<uint>? sendEvent = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _domain = new MemoryDomain(options, sendEvent);
    }

    /// <summary>Acts as <paramref name="domain"/> under <paramref name="root"/> (null: <c>XEN_ROOT</c> or the default).</summary>
    public static UnixMemory Create(ushort domain, string? root = null, Action<uint>? sendEvent = null) =>
        new(new UnixMemoryOptions { Domain = domain, Root = root }, sendEvent);

    private MemoryDomain State => _domain ?? throw new InvalidOperationException("This UnixMemory was not created with a constructor.");

    /// <inheritdoc />
    public ushort LocalDomain => State.Domain;

    /// <summary>The root folder this backend uses.</summary>
    public string Root => State.Root;

    /// <inheritdoc />
    public Share Share(ushort remoteDomain, int pageCount, bool writable, UnmapNotify notify = default) =>
        State.Share(remoteDomain, pageCount, writable, notify);

    /// <inheritdoc />
    public Mapping Map(ushort remoteDomain, GrantRef grant, bool writable, UnmapNotify notify = default) =>
        State.Map(remoteDomain, [grant], writable, notify);

    /// <inheritdoc />
    public Mapping MapMany(ushort remoteDomain, ReadOnlySpan<GrantRef> grants, bool writable, UnmapNotify notify = default) =>
        State.Map(remoteDomain, grants, writable, notify);

    /// <inheritdoc />
    public void Unmap(Mapping mapping)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        if (mapping is not UnixMapping own || own.Owner != State)
            throw new ArgumentException("The mapping was not made by this backend.", nameof(mapping));
        ((IDisposable)mapping).Dispose();
    }

    /// <inheritdoc />
    public void Unshare(Share share)
    {
        ArgumentNullException.ThrowIfNull(share);
        if (share is not UnixShare own || own.Owner != State)
            throw new ArgumentException("The share was not made by this backend.", nameof(share));
        ((IDisposable)share).Dispose();
    }

    /// <summary>Unmaps and unshares everything this process still holds and leaves the domain folder.</summary>
    public void Dispose() => _domain?.Dispose();
}
