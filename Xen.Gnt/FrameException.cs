namespace Xen.Gnt;

/// <summary>A frame could not be allocated or mapped: an unprivileged mapper, an unknown domain, or a frame the domain does not own.</summary>
public class FrameException : IOException
{
    /// <summary>Creates the error.</summary>
    public FrameException(string message) : base(message)
    {
    }

    /// <summary>Creates the error with its cause.</summary>
    public FrameException(string message, Exception? innerException) : base(message, innerException)
    {
    }
}
