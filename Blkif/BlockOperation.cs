using System.Threading.Tasks.Sources;

namespace Blkif;

/// <summary>
/// One call of the block device, which may travel as several ring requests: completes when the last
/// of them is answered, with the first error any of them met. Pooled, so a call allocates nothing.
/// </summary>
internal sealed class BlockOperation : IValueTaskSource
{
    // Null once the device is disposed (OperationPool.Close): an operation left as some thread's spare
    // then holds nothing of the device.
    private OperationPool? _pool;
    // Continuations run inline where the last piece completes: in a completion batch on the thread
    // pool, never on the ring's receive loop (see BlkfrontQueue.Dispatch).
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = false };
    private int _pending;
    private Exception? _error;

    public BlockOperation(OperationPool pool) => _pool = pool;

    public OperationPool? Pool => Volatile.Read(ref _pool);

    /// <summary>Lets go of the pool: the device is disposed.</summary>
    public void Detach() => Volatile.Write(ref _pool, null);

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
            _error = null;
            Pool?.Return(this);
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
    // thread, takes it again. A spare of a closed pool belongs to no pool (Close detaches every
    // operation), so an idle thread keeps one small object, not the device's pool.
    [ThreadStatic]
    private static BlockOperation? t_spare;

    private readonly Stack<BlockOperation> _free = new();
    // Every operation made, so that Close can detach them wherever they are.
    private readonly List<BlockOperation> _all = [];
    private readonly Lock _gate = new();
    private bool _closed;

    public BlockOperation Rent(int pieces)
    {
        var operation = t_spare;
        if (operation is not null && operation.Pool == this)
        {
            t_spare = null;
        }
        else
        {
            // Another pool's spare stays for its own device.
            lock (_gate)
            {
                if (!_free.TryPop(out operation))
                {
                    operation = new BlockOperation(this);
                    if (_closed)
                        operation.Detach();
                    else
                        _all.Add(operation);
                }
            }
        }
        operation.Start(pieces);
        return operation;
    }

    public void Return(BlockOperation operation)
    {
        var spare = t_spare;
        if (spare is null || spare.Pool is null)
        {
            t_spare = operation;
            return;
        }
        lock (_gate)
        {
            if (!_closed)
                _free.Push(operation);
        }
    }

    /// <summary>The device is disposed: detaches every operation, so that none keeps this pool alive.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            foreach (var operation in _all)
                operation.Detach();
            _all.Clear();
            _free.Clear();
        }
    }
}
