using System.Threading.Tasks.Sources;

namespace Xen.Evtchn.InHeap;

/// <summary>
/// A parked <see cref="IEvents.RecvAsync"/>. Its fields other than the core are guarded by the owner
/// endpoint's lock. Completions always run their continuations asynchronously, never inline under a lock.
/// </summary>
internal sealed class Waiter : IValueTaskSource<EventCounter>
{
    // Mutable struct: never make this readonly.
    private ManualResetValueTaskSourceCore<EventCounter> _core;

    public Waiter(EventEndpoint owner, bool reusable)
    {
        Owner = owner;
        Reusable = reusable;
        _core.RunContinuationsAsynchronously = true;
    }

    public EventEndpoint Owner { get; }

    /// <summary>The endpoint's own waiter, handed back to it once its result is read.</summary>
    public bool Reusable { get; }

    public ulong LastSeen;
    public CancellationToken Token;
    public CancellationTokenRegistration Registration;
    public Waiter? Next;
    public bool Linked;

    public short Version => _core.Version;

    public void SetResult(EventCounter counter) => _core.SetResult(counter);

    public void SetException(Exception error) => _core.SetException(error);

    public EventCounter GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            if (Reusable)
            {
                _core.Reset();
                Owner.ReturnPrimary();
            }
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
