using System.Threading.Tasks.Sources;

namespace Xen.Evtchn.Unix;

/// <summary>
/// One pending <see cref="UnixEvents.RecvAsync"/>: a reusable value-task source, so that a wait that
/// does not complete at once allocates nothing in steady state. Completed exactly once per use, by the
/// event thread, a cancellation or a close, whichever comes first.
/// </summary>
internal sealed class ChannelWaiter : IValueTaskSource<EventCounter>
{
    // Mutable struct: not readonly.
    private ManualResetValueTaskSourceCore<EventCounter> _core;
    private readonly ChannelState _owner;
    private CancellationTokenRegistration _registration;
    private int _completed;

    public ChannelWaiter(ChannelState owner, bool runContinuationsAsynchronously)
    {
        _owner = owner;
        _core.RunContinuationsAsynchronously = runContinuationsAsynchronously;
    }

    /// <summary>The counter value the caller has already seen.</summary>
    public ulong LastSeen { get; private set; }

    public short Version => _core.Version;

    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    public void Start(ulong lastSeen, CancellationToken cancellationToken)
    {
        LastSeen = lastSeen;
        if (cancellationToken.CanBeCanceled)
            _registration = cancellationToken.UnsafeRegister(static (state, token) => ((ChannelWaiter)state!).Cancel(token), this);
    }

    public void Complete(ulong counter)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
            return;
        // Waits for a cancellation callback that is already running, so the waiter is not reused under it.
        _registration.Dispose();
        _core.SetResult(new EventCounter(counter));
    }

    public void Fail(Exception error)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
            return;
        _registration.Dispose();
        _core.SetException(error);
    }

    private void Cancel(CancellationToken token)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
            return;
        _owner.Forget(this);
        _core.SetException(new OperationCanceledException(token));
    }

    public EventCounter GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _registration = default;
            _core.Reset();
            Volatile.Write(ref _completed, 0);
            _owner.Return(this);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
