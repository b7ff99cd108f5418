namespace Netif;

/// <summary>
/// The peer broke the netif protocol in a way Linux's netback treats as fatal: a frame that claims
/// more slots than were pushed, or ring indices out of range. The queue disconnects.
/// </summary>
public sealed class NetifProtocolException : IOException
{
    /// <summary>Creates the error with a message that says what the peer did.</summary>
    public NetifProtocolException(string message) : base(message) { }

    /// <summary>Creates the error with a message and its cause.</summary>
    public NetifProtocolException(string message, Exception innerException) : base(message, innerException) { }
}
