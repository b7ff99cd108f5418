using System.Runtime.CompilerServices;
using SharedMemoryRing;
using Xen.Evtchn;

namespace Vchan;

// Reading the ring the peer writes: the left ring for a server, the right ring for a client.
public sealed partial class VchanEndpoint<TEvents, TMemory>
{
    private EventCounter _readSeen;

    /// <inheritdoc />
    public override int DataReady
    {
        get
        {
            Enter();
            try
            {
                RequestNotify(VchanControlPage.NotifyWrite);
                return ReadyToRead();
            }
            finally
            {
                Exit();
            }
        }
    }

    /// <inheritdoc />
    public override int TryRead(Span<byte> buffer)
    {
        Enter();
        try
        {
            return ReadCore(buffer);
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        Enter();
        try
        {
            while (true)
            {
                var n = ReadOrPrepareWait(buffer, out var seen);
                if (n >= 0)
                    return n;
                _counters.ReadWaits++;
                _readSeen = WaitForEvent(seen);
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<int>(cancellationToken);
        Enter();
        try
        {
            var n = ReadOrPrepareWait(buffer.Span, out var seen);
            if (n >= 0)
            {
                Exit();
                return new ValueTask<int>(n);
            }
            return ReadWaitingAsync(buffer, seen, cancellationToken);
        }
        catch
        {
            Exit();
            throw;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadWaitingAsync(Memory<byte> buffer, EventCounter seen, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                _counters.ReadWaits++;
                _readSeen = await WaitForEventAsync(seen, cancellationToken).ConfigureAwait(false);
                var n = ReadOrPrepareWait(buffer.Span, out seen);
                if (n >= 0)
                    return n;
            }
        }
        finally
        {
            Exit();
        }
    }

    // Returns the bytes read, 0 at the end of the stream, or -1 when the caller must wait for an
    // event past `seen` (taken before the last look at the ring, so no event is missed).
    private int ReadOrPrepareWait(Span<byte> buffer, out EventCounter seen)
    {
        ThrowIfClosed();
        seen = _readSeen;
        if (buffer.IsEmpty)
            return 0;
        var n = ReadCore(buffer);
        if (n > 0)
            return n;
        SpinUntil(reading: true);
        n = ReadCore(buffer);
        if (n > 0)
            return n;
        RequestNotify(VchanControlPage.NotifyWrite);
        n = ReadCore(buffer);
        if (n > 0)
            return n;
        if (PeerClosed())
            return ReadCore(buffer); // the peer's last bytes may have landed just before it left
        return -1;
    }

    private int ReadCore(Span<byte> buffer)
    {
        int n;
        try
        {
            n = _reader.Read(buffer);
        }
        catch (RingProtocolException e)
        {
            throw Fault(e);
        }
        if (n == 0)
            return 0;
        _counters.BytesRead += n;
        SendNotify(VchanControlPage.NotifyRead);
        return n;
    }

    private int ReadyToRead()
    {
        try
        {
            return _reader.Available;
        }
        catch (RingProtocolException e)
        {
            throw Fault(e);
        }
    }
}
