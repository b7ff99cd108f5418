using System.Threading.Tasks.Sources;

namespace Blkif;

/// <summary>
/// One call of the block device, which may travel as several ring requests: completes when the last
/// of them is answered, with the first error any of them met. Pooled, so a call allocates nothing.
/// </summary>
internal sealed class BlockOperation : IValueTaskSource
{
    private readonly OperationPool _pool;
    // Continuations run inline where the last piece completes: in a completion batch on the thread
    // pool, never on the ring's receive loop (see BlkfrontQueue.Dispatch).
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = false };
    private int _pending;
    private Exception? _error;

    public BlockOperation(OperationPool pool) => _pool = pool;

    public OperationPool Pool => _pool;

    public short Version => _core.Version;

    public ValueTask AsValueTask() => new(this, _core.Version);

    /// <summary>Arms the operation for <paramref name="pieces"/> ring requests.</summary>
    public void Start(int pieces)
    {
        _error = null;
        Volatile.Write(ref _pending, pieces);
    }

    /// <summary>One piece is done (or will never be sent); the last one completes the operation.</summary>
    public void PieceDone(Exception? error)
    {
        if (error is not null)
            Interlocked.CompareExchange(ref _error, error, null);
        if (Interlocked.Decrement(ref _pending) != 0)
            return;
        if (_error is { } failed)
            _core.SetException(failed);
        else
            _core.SetResult(true);
    }

    public void GetResult(short token)
    {
        try
        {
            _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
            _pool.Return(this);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}

/// <summary>The operations a block device reuses.</summary>
internal sealed class OperationPool
{
    // One operation per thread, taken and given back without the lock: a caller's continuation runs
    // where its operation completed and gives it back there (GetResult), and its next call, on the same
    // thread, takes it again.
    [ThreadStatic]
    private static BlockOperation? t_spare;

    private readonly Stack<BlockOperation> _free = new();
    private readonly Lock _gate = new();

    public BlockOperation Rent(int pieces)
    {
        var operation = t_spare;
        if (operation is not null && operation.Pool == this)
        {
            t_spare = null;
        }
        else
        {
            lock (_gate)
                _free.TryPop(out operation);
            operation ??= new BlockOperation(this);
        }
        operation.Start(pieces);
        return operation;
    }

    public void Return(BlockOperation operation)
    {
        if (t_spare is null)
        {
            t_spare = operation;
            return;
        }
        lock (_gate)
            _free.Push(operation);
    }
}
