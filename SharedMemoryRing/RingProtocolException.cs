namespace SharedMemoryRing;

/// <summary>
/// The peer broke the ring protocol: an index it wrote into shared memory claims more entries or
/// bytes than the ring can hold, or moved backwards. The ring is no longer usable; disconnect the peer.
/// </summary>
public sealed class RingProtocolException : IOException
{
    /// <summary>Creates the error with a message that names the bad index.</summary>
    public RingProtocolException(string message) : base(message) { }
}
