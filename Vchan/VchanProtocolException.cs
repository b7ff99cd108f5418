namespace Vchan;

/// <summary>
/// The peer broke the vchan protocol: indices that claim more bytes than the ring holds, orders or
/// grant counts outside the rules, or a live byte with a value that means nothing. The vchan is
/// unusable after it; nothing outside the shared pages was read or written.
/// </summary>
public sealed class VchanProtocolException : IOException
{
    /// <summary>Creates the error with a message that says what the peer did.</summary>
    public VchanProtocolException(string message) : base(message) { }
}
