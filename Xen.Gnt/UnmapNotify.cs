namespace Xen.Gnt;

/// <summary>
/// What happens when a share or a mapping goes away, including when the process that holds it dies
/// (Linux's <c>UNMAP_NOTIFY_CLEAR_BYTE</c> and <c>UNMAP_NOTIFY_SEND_EVENT</c>): clear one byte of the
/// pages, send an event on a local port, or both. This is how a peer learns that the other side has
/// crashed. The default value does nothing.
/// </summary>
public readonly record struct UnmapNotify
{
    private UnmapNotify(int? clearByteAt, uint? eventPort)
    {
        ClearByteAt = clearByteAt;
        EventPort = eventPort;
    }

    /// <summary>No notification.</summary>
    public static UnmapNotify None => default;

    /// <summary>The offset into the pages of the byte to set to zero, if any.</summary>
    public int? ClearByteAt { get; }

    /// <summary>The local event-channel port to notify, if any.</summary>
    public uint? EventPort { get; }

    /// <summary>Whether anything is to happen.</summary>
    public bool IsNone => ClearByteAt is null && EventPort is null;

    /// <summary>Clears the byte at <paramref name="offset"/> into the pages.</summary>
    public static UnmapNotify ClearByte(int offset) =>
        new(offset >= 0 ? offset : throw new ArgumentOutOfRangeException(nameof(offset)), null);

    /// <summary>Notifies the local event-channel port <paramref name="port"/>.</summary>
    public static UnmapNotify SendEvent(uint port) => new(null, port);

    /// <summary>Clears the byte at <paramref name="offset"/>, then notifies <paramref name="port"/>.</summary>
    public static UnmapNotify ClearByteAndSendEvent(int offset, uint port) =>
        new(offset >= 0 ? offset : throw new ArgumentOutOfRangeException(nameof(offset)), port);

    /// <summary>Checks that the byte to clear lies inside <paramref name="length"/> bytes of pages.</summary>
    /// <exception cref="ArgumentOutOfRangeException">It does not.</exception>
    public void Validate(int length)
    {
        if (ClearByteAt is { } at && at >= length)
            throw new ArgumentOutOfRangeException(nameof(ClearByteAt), at, $"The byte to clear lies outside the {length} bytes of the pages.");
    }
}
