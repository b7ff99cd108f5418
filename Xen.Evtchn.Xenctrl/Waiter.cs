using System.Threading.Tasks.Sources;

namespace Xen.Evtchn.Xenctrl;

/// <summary>
/// One receiver waiting for a port's counter to move, as a reusable <see cref="IValueTaskSource{TResult}"/>.
/// It is completed exactly once, by whoever removes it from its port's list under the port's lock.
/// </summary>
internal sealed class Waiter : IValueTaskSource<EventCounter>
{
    private readonly PortState _owner;
    // Mutable struct: never make this field readonly.
    private ManualResetValueTaskSourceCore<EventCounter> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _registration;
    private CancellationToken _token;
    private bool _reusable;

    internal Waiter(PortState owner) => _owner = owner;

    /// <summary>The counter value the receiver has already seen.</summary>
    internal EventCounter LastSeen { get; private set; }

    internal void Prepare(EventCounter lastSeen, CancellationToken cancellationToken)
    {
        LastSeen = lastSeen;
        _token = cancellationToken;
        _reusable = true;
        _registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((Waiter)state!).Cancel(), this)
            : default;
    }

    internal ValueTask<EventCounter> AsValueTask() => new(this, _core.Version);

    /// <summary>Never added to the list after all: undo <see cref="Prepare"/> and keep the waiter for later.</summary>
    internal void Abandon()
    {
        if (_registration.Unregister() || !_token.CanBeCanceled)
            _owner.Return(this);
    }

    /// <summary>Called under the owner's lock, after removing this waiter from its list.</summary>
    internal void Complete(EventCounter counter)
    {
        Detach();
        _core.SetResult(counter);
    }

    /// <summary>Called under the owner's lock, after removing this waiter from its list.</summary>
    internal void Fail(Exception error)
    {
        Detach();
        _core.SetException(error);
    }

    private void Detach()
    {
        // A cancellation callback that is already running will find the waiter gone from the list and do
        // nothing; it still holds a reference, so this waiter must not be reused.
        if (_token.CanBeCanceled && !_registration.Unregister())
            _reusable = false;
    }

    private void Cancel()
    {
        if (!_owner.TryRemove(this))
            return;
        _reusable = false;
        _core.SetException(new OperationCanceledException(_token));
    }

    /// <inheritdoc />
    public EventCounter GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            if (_reusable)
            {
                _core.Reset();
                _owner.Return(this);
            }
        }
    }

    /// <inheritdoc />
    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    /// <inheritdoc />
    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
