namespace Xen.Evtchn;

/// <summary>The base of every event-channel error.</summary>
public class EventChannelException : IOException
{
    /// <summary>Creates the error with a message.</summary>
    public EventChannelException(string message) : base(message) { }

    /// <summary>Creates the error with a message and its cause.</summary>
    public EventChannelException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>A port that is not offered to this domain: it does not exist, is taken, or names another domain.</summary>
public sealed class PortNotBoundException : EventChannelException
{
    /// <summary>Creates the error for <paramref name="remoteDomain"/>'s port <paramref name="port"/>.</summary>
    public PortNotBoundException(ushort remoteDomain, Port port, string reason)
        : base($"Port {port} of domain {remoteDomain} is not bound for this domain: {reason}.")
    {
        RemoteDomain = remoteDomain;
        Port = port;
    }

    /// <summary>The domain whose port was asked for.</summary>
    public ushort RemoteDomain { get; }

    /// <summary>The port that was asked for.</summary>
    public Port Port { get; }
}

/// <summary>A channel used after it was closed locally.</summary>
public sealed class ChannelClosedException : EventChannelException
{
    /// <summary>Creates the error for <paramref name="channel"/>.</summary>
    public ChannelClosedException(Channel channel) : base($"The event {channel} is closed.") => Channel = channel;

    /// <summary>The channel that was used.</summary>
    public Channel Channel { get; }
}

/// <summary>The peer of a channel closed its end, or its domain died.</summary>
public sealed class PeerClosedException : EventChannelException
{
    /// <summary>Creates the error for <paramref name="channel"/>.</summary>
    public PeerClosedException(Channel channel, string? detail = null)
        : base($"The peer of event {channel} closed its end{(detail is null ? "" : ": " + detail)}.") => Channel = channel;

    /// <summary>The local channel whose peer went away.</summary>
    public Channel Channel { get; }
}
