using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Xen.Evtchn;

public sealed partial class EventWaiter
{
    /// <summary>
    /// One parked receiver, pooled by its <see cref="EventWaiter"/>. The list fields are guarded by the
    /// owner's lock; the completion runs outside it.
    /// </summary>
    private sealed class Pending : IValueTaskSource<EventCounter>
    {
        // Mutable struct: never make this field readonly.
        private ManualResetValueTaskSourceCore<EventCounter> _core;

        public Pending(EventWaiter owner, bool runContinuationsAsynchronously)
        {
            Owner = owner;
            _core.RunContinuationsAsynchronously = runContinuationsAsynchronously;
        }

        public EventWaiter Owner { get; }

        public ulong LastSeen;
        public Pending? Next;
        public bool Linked;
        public CancellationTokenRegistration Registration;

        public short Version => _core.Version;

        public void Complete(ulong counter)
        {
            // Waits for a cancellation callback already running (it finds the wait gone and does nothing),
            // so none is left running when the result is out and the caller may reuse this object.
            Registration.Dispose();
            _core.SetResult(new EventCounter(counter));
        }

        public void Fail(Exception error)
        {
            Registration.Dispose();
            _core.SetException(error);
        }

        public void Cancelled(CancellationToken token) => _core.SetException(new OperationCanceledException(token));

        public EventCounter GetResult(short token)
        {
            // A stale token or a result read before completion is the caller's bug: it must not put this
            // object back in the pool while it is still parked or already reused.
            if (_core.GetStatus(token) == ValueTaskSourceStatus.Pending)
                ThrowNotCompleted();
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                Registration = default;
                _core.Reset();
                Owner.Return(this);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void ThrowNotCompleted() =>
            throw new InvalidOperationException("The event wait has not completed; await it instead of reading its result.");
    }
}
