using Xen.Evtchn.InHeap;
using Xen.Gnt.InHeap;
using Xen.InHeap;

namespace Fbif.Tests;

/// <summary>A backend domain 0 and a frontend domain 1 on hubs of their own.</summary>
internal sealed class InHeapPair : IDisposable
{
    public const ushort BackendDomain = 0;
    public const ushort FrontendDomain = 1;

    private readonly InHeapEventHub _events = new();
    private readonly InHeapGrantHub _grants = new();

    public InHeapPair()
    {
        Back = InHeapDomain.Open(_events, _grants, BackendDomain);
        Front = InHeapDomain.Open(_events, _grants, FrontendDomain);
    }

    public InHeapDomain Back { get; }

    public InHeapDomain Front { get; }

    public InHeapGrantHub Grants => _grants;

    public void Dispose()
    {
        Front.Dispose();
        Back.Dispose();
        _grants.Dispose();
        _events.Dispose();
    }
}
