namespace Xen.Store;

/// <summary>A Xenstore request failed with an error from <c>xs_wire.h</c>.</summary>
public class XenstoreException : Exception
{
    /// <summary>Creates the exception for <paramref name="error"/>.</summary>
    public XenstoreException(XsError error)
        : this(error, $"Xenstore error {error}.")
    {
    }

    /// <summary>Creates the exception for <paramref name="error"/> with a message naming the request.</summary>
    public XenstoreException(XsError error, string message)
        : base(message) => Error = error;

    /// <summary>Creates the exception with no error code (EIO).</summary>
    public XenstoreException()
        : this(XsError.EIO)
    {
    }

    /// <summary>Creates the exception with a message (EIO).</summary>
    public XenstoreException(string message)
        : this(XsError.EIO, message)
    {
    }

    /// <summary>Creates the exception with a message and a cause (EIO).</summary>
    public XenstoreException(string message, Exception innerException)
        : base(message, innerException) => Error = XsError.EIO;

    /// <summary>The daemon's error.</summary>
    public XsError Error { get; }
}
