namespace Vchan;

/// <summary>
/// The peer broke the vchan protocol: ring indices outside their window (more bytes than the ring
/// holds, or an index that moved backwards), orders or grant counts outside the rules, or a live byte
/// with a value that means nothing. The vchan is unusable after it; nothing outside the shared pages
/// was read or written.
/// </summary>
public sealed class VchanProtocolException : IOException
{
    /// <summary>Creates the error with a message that says what the peer did.</summary>
    public VchanProtocolException(string message) : base(message) { }

    /// <summary>Creates the error with a message that says what the peer did, and the ring's own error.</summary>
    public VchanProtocolException(string message, Exception? innerException) : base(message, innerException) { }
}
