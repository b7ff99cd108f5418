using Xen.Evtchn;

namespace Vchan;

// libxenvchan's notify bytes: each end asks the other for an event on its next write or read, and
// the other sends one only when asked.
public sealed partial class VchanEndpoint<TEvents, TMemory>
{
    // Ask the peer to send an event on its next write (or read): the bit goes into the peer's byte.
    private unsafe void RequestNotify(byte bit)
    {
        ref var notify = ref _isServer ? ref _page->CliNotify : ref _page->SrvNotify;
        var old = Volatile.Read(ref notify);
        while ((old & bit) == 0)
        {
            var seen = Interlocked.CompareExchange(ref notify, (byte)(old | bit), old);
            if (seen == old)
                break;
            old = seen;
        }
        // Post the request before the caller looks at the indices again.
        Interlocked.MemoryBarrier();
    }

    // After moving an index: if the peer asked for this bit in our byte, clear it and send an event.
    private unsafe void SendNotify(byte bit)
    {
        // The index store must be visible before we look at the request.
        Interlocked.MemoryBarrier();
        ref var notify = ref _isServer ? ref _page->SrvNotify : ref _page->CliNotify;
        var old = Volatile.Read(ref notify);
        while ((old & bit) != 0)
        {
            var seen = Interlocked.CompareExchange(ref notify, (byte)(old & ~bit), old);
            if (seen == old)
            {
                SendEvent();
                return;
            }
            old = seen;
        }
    }

    private void SendEvent()
    {
        try
        {
            _events.Send(_channel);
        }
        catch (PeerClosedException)
        {
            _peerGone = true;
        }
        catch (ChannelClosedException) when (_closed)
        {
            // A read or write that was under way when this end closed: its bytes have moved, and the
            // close has told the peer already.
        }
    }
}
