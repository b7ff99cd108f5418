namespace Xen.Gnt;

/// <summary>A grant-table operation that failed, with Xen's status code for the reason.</summary>
public class GrantException : IOException
{
    /// <summary>Creates the error with Xen's status code and a message that says what to do.</summary>
    public GrantException(GrantStatus status, string message) : base($"{message} ({status})") => Status = status;

    /// <summary>Creates the error with Xen's status code, a message and its cause.</summary>
    public GrantException(GrantStatus status, string message, Exception? innerException)
        : base($"{message} ({status})", innerException) => Status = status;

    /// <summary>Xen's status code for the failure.</summary>
    public GrantStatus Status { get; }
}
