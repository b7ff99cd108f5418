namespace Blkif;

/// <summary>
/// A block request failed: the backend answered it with an error status, or the connection to the
/// backend broke (it died, closed its channel or broke the ring) before it answered.
/// </summary>
public sealed class BlkifIOException : IOException
{
    /// <summary>Creates the error for a request the backend refused.</summary>
    public BlkifIOException(BlkifOperation operation, BlkifStatus status, string message) : base(message)
    {
        Operation = operation;
        Status = status;
    }

    /// <summary>Creates the error for a request the backend never answered.</summary>
    public BlkifIOException(string message, Exception? innerException) : base(message, innerException)
    {
    }

    /// <summary>The operation that failed, when the backend answered.</summary>
    public BlkifOperation? Operation { get; }

    /// <summary>The backend's status, when it answered; null when the connection broke.</summary>
    public BlkifStatus? Status { get; }
}
