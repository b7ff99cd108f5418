using Microsoft.Extensions.Logging;
using SharedMemoryRing;
using Xen.Evtchn;
using Xen.Gnt;

namespace Vchan;

// The handshake: the server shares the pages and offers the event channel, the client maps them and
// says it is there (libxenvchan's server_init and client_init).
public sealed partial class VchanEndpoint<TEvents, TMemory>
{
    private int _connectLogged;

    internal static unsafe VchanEndpoint<TEvents, TMemory> Listen(TEvents events, TMemory memory, ushort clientDomain, int leftMin, int rightMin, ILogger? logger)
    {
        var (leftOrder, rightOrder) = VchanOrders.Choose(leftMin, rightMin);
        var (port, channel) = events.Listen(clientDomain);
        Share? control = null, left = null, right = null;
        try
        {
            // If this process dies, the client sees srv_live cleared and an event.
            control = memory.Share(clientDomain, 1, writable: true,
                UnmapNotify.ClearByteAndSendEvent(VchanControlPage.SrvLiveOffset, channel.LocalPort.Value));
            var page = (VchanControlPage*)control.Pointer;
            control.Span.Clear();
            page->LeftOrder = (ushort)leftOrder;
            page->RightOrder = (ushort)rightOrder;
            page->CliLive = VchanControlPage.LiveWaiting;
            page->SrvLive = VchanControlPage.LiveConnected;
            // The client's first write wakes us.
            page->CliNotify = VchanControlPage.NotifyWrite;
            var grants = (uint*)((byte*)page + VchanControlPage.GrantsOffset);
            if (VchanOrders.PageCount(leftOrder) is var leftPages and > 0)
            {
                left = memory.Share(clientDomain, leftPages, writable: true);
                for (var i = 0; i < leftPages; i++)
                    grants[i] = left.Refs[i].Value;
                grants += leftPages;
            }
            if (VchanOrders.PageCount(rightOrder) is var rightPages and > 0)
            {
                right = memory.Share(clientDomain, rightPages, writable: true);
                for (var i = 0; i < rightPages; i++)
                    grants[i] = right.Refs[i].Value;
            }
            Interlocked.MemoryBarrier();
            var endpoint = new VchanEndpoint<TEvents, TMemory>(events, memory, channel, isServer: true, clientDomain,
                new VchanRendezvous(control.Refs[0], port), leftOrder, rightOrder, control, left, right, logger);
            Log.Listening(endpoint._logger, clientDomain, control.Refs[0].Value, port.Value, leftOrder, rightOrder);
            return endpoint;
        }
        catch
        {
            if (right is not null)
                memory.Unshare(right);
            if (left is not null)
                memory.Unshare(left);
            if (control is not null)
                memory.Unshare(control);
            events.Close(channel);
            throw;
        }
    }

    internal static unsafe VchanEndpoint<TEvents, TMemory> Connect(TEvents events, TMemory memory, ushort serverDomain, VchanRendezvous rendezvous, ILogger? logger)
    {
        var channel = events.Connect(serverDomain, rendezvous.EventChannel);
        Mapping? control = null, left = null, right = null;
        try
        {
            // If this process dies, the server sees cli_live cleared and an event.
            control = memory.Map(serverDomain, rendezvous.ControlPage, writable: true,
                UnmapNotify.ClearByteAndSendEvent(VchanControlPage.CliLiveOffset, channel.LocalPort.Value));
            var page = (VchanControlPage*)control.Pointer;
            // Read each order once and check the copy: the server may change the page under us.
            int leftOrder = Volatile.Read(ref page->LeftOrder), rightOrder = Volatile.Read(ref page->RightOrder);
            try
            {
                VchanOrders.Validate(leftOrder, rightOrder);
            }
            catch (VchanProtocolException e)
            {
                Log.ProtocolFault(logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, serverDomain, e.Message);
                throw;
            }
            int leftCount = VchanOrders.PageCount(leftOrder), rightCount = VchanOrders.PageCount(rightOrder);
            var grants = new ReadOnlySpan<uint>((byte*)page + VchanControlPage.GrantsOffset, leftCount + rightCount).ToArray();
            if (leftCount > 0)
                left = memory.MapMany(serverDomain, ToRefs(grants.AsSpan(0, leftCount)), writable: true);
            if (rightCount > 0)
                right = memory.MapMany(serverDomain, ToRefs(grants.AsSpan(leftCount, rightCount)), writable: false);
            CheckMapped(left, leftOrder);
            CheckMapped(right, rightOrder);
            var endpoint = new VchanEndpoint<TEvents, TMemory>(events, memory, channel, isServer: false, serverDomain, rendezvous,
                leftOrder, rightOrder, control, left, right, logger);
            endpoint.CheckIndicesAtConnect();
            Volatile.Write(ref page->SrvNotify, VchanControlPage.NotifyWrite);
            Volatile.Write(ref page->CliLive, VchanControlPage.LiveConnected);
            Interlocked.MemoryBarrier();
            endpoint.SendEvent();
            endpoint.LogConnectedOnce();
            return endpoint;
        }
        catch
        {
            if (right is not null)
                memory.Unmap(right);
            if (left is not null)
                memory.Unmap(left);
            if (control is not null)
                memory.Unmap(control);
            events.Close(channel);
            throw;
        }
    }

    private static GrantRef[] ToRefs(ReadOnlySpan<uint> values)
    {
        var refs = new GrantRef[values.Length];
        for (var i = 0; i < values.Length; i++)
            refs[i] = new GrantRef(values[i]);
        return refs;
    }

    private static void CheckMapped(Mapping? mapping, int order)
    {
        if (mapping is not null && mapping.Length < VchanOrders.RingSize(order))
            throw new VchanProtocolException($"The ring of order {order} mapped only {mapping.Length} bytes.");
    }

    // The ring we write must not already claim more bytes in flight than it holds.
    private void CheckIndicesAtConnect()
    {
        try
        {
            _ = _writer.Free;
        }
        catch (RingProtocolException e)
        {
            throw Fault(e);
        }
    }

    /// <inheritdoc />
    public override async ValueTask WaitForConnectionAsync(CancellationToken cancellationToken = default)
    {
        Enter();
        try
        {
            while (true)
            {
                var seen = _connectSeen;
                if (!_isServer || _closed || PeerClosed())
                    return;
                if (PeerLive() != VchanControlPage.LiveWaiting)
                {
                    LogConnectedOnce();
                    return;
                }
                _connectSeen = await WaitForEventAsync(seen, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Exit();
        }
    }

    private void LogConnectedOnce()
    {
        if (Interlocked.Exchange(ref _connectLogged, 1) == 0)
            Log.Connected(_logger, Side, _remoteDomain, _reader.Size, _writer.Size);
    }
}
