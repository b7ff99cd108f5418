using System.Buffers;
using System.Threading.Tasks.Sources;

namespace Xen.Store;

/// <summary>The reply to one request: its payload's length and, when the caller asked for a copy, the payload.</summary>
internal readonly record struct XsReply(int Length, byte[]? Payload);

/// <summary>
/// One request waiting for its reply: the awaitable behind <see cref="XenstoreClient"/>'s requests,
/// reused from request to request so that a read in steady state allocates nothing. The reply's
/// payload goes straight from the transport's buffer into the caller's memory, or into a new array
/// for the callers that return one.
/// </summary>
internal sealed class PendingRequest : IValueTaskSource<XsReply>, IValueTaskSource<int>
{
    private readonly XenstoreClient _client;
    private ManualResetValueTaskSourceCore<XsReply> _core;

    public PendingRequest(XenstoreClient client) => _client = client;

    /// <summary>The request's type: the reply must have it (or be an error).</summary>
    public XsMessageType Type { get; private set; }

    /// <summary>The request's id on the wire.</summary>
    public uint Id { get; set; }

    private Memory<byte> _destination;
    private bool _copy;
    private CancellationTokenRegistration _registration;

    public short Version => _core.Version;

    /// <summary>Prepares for a new request. <paramref name="inlineContinuation"/>: the awaiter runs on the
    /// thread that completes it (the connection's reader); otherwise on the thread pool.</summary>
    public void Start(XsMessageType type, Memory<byte> destination, bool copy, bool inlineContinuation)
    {
        Type = type;
        _destination = destination;
        _copy = copy;
        _core.RunContinuationsAsynchronously = !inlineContinuation;
    }

    public void Register(CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
            return;
        // The id goes with the callback: by the time a late callback runs, this object may carry another request.
        var id = Id;
        _registration = cancellationToken.UnsafeRegister(static (state, token) =>
        {
            var (request, id) = ((PendingRequest, uint))state!;
            request._client.Cancel(request, id, token);
        }, (this, id));
    }

    /// <summary>Completes with the reply's payload; the connection's reader calls it once it has the whole message.</summary>
    public void Complete(XsMessageType replyType, in ReadOnlySequence<byte> payload)
    {
        if (replyType == XsMessageType.Error)
        {
            _core.SetException(_client.ErrorReply(Type, payload.ToArray()));
            return;
        }
        if (replyType != Type)
        {
            _core.SetException(_client.MalformedReply(Type, replyType));
            return;
        }
        var length = (int)payload.Length;
        if (_copy)
        {
            _core.SetResult(new XsReply(length, payload.ToArray()));
            return;
        }
        if (length > _destination.Length)
        {
            _core.SetException(new XenstoreException(XsError.E2BIG, $"The reply's {length} bytes do not fit the {_destination.Length} given."));
            return;
        }
        payload.CopyTo(_destination.Span);
        _core.SetResult(new XsReply(length, null));
    }

    public void Fail(Exception error) => _core.SetException(error);

    int IValueTaskSource<int>.GetResult(short token) => GetResult(token).Length;

    public XsReply GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _registration.Dispose();
            _registration = default;
            _destination = default;
            _core.Reset();
            _client.Return(this);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
