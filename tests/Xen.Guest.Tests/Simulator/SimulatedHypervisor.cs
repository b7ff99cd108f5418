namespace Xen.Guest.Tests.Simulator;

/// <summary>
/// Several Xen domains in one process: each has memfd-backed physical memory, a shared-info page,
/// a grant table and event channels, and the hypercalls act on them with Xen's semantics. One lock
/// stands for Xen's per-domain locks; upcalls run after it is released, on the caller's thread, as
/// an event raised on a running vCPU would.
/// </summary>
public sealed class SimulatedHypervisor : IDisposable
{
    private readonly Dictionary<ushort, SimulatedDomain> _domains = [];
    private readonly List<SimulatedDomain> _created = [];

    internal Lock Lock { get; } = new();

    /// <summary>Creates domain <paramref name="id"/> with <paramref name="memoryPages"/> pages of physical memory.</summary>
    public SimulatedDomain CreateDomain(ushort id, int memoryPages = 4096)
    {
        lock (Lock)
        {
            if (id >= 0x7FF0 || _domains.ContainsKey(id))
                throw new ArgumentException($"Domain {id} exists or is reserved.", nameof(id));
            var domain = new SimulatedDomain(this, id, memoryPages);
            _domains.Add(id, domain);
            _created.Add(domain);
            return domain;
        }
    }

    /// <summary>
    /// Destroys a domain as Xen does: its event channels close (their peers' ports turn unbound) and its
    /// mappings of other domains' grants are released. Pages it granted stay mapped by peers until they unmap.
    /// </summary>
    public void DestroyDomain(ushort id)
    {
        lock (Lock)
        {
            if (!_domains.Remove(id, out var domain))
                throw new ArgumentException($"Domain {id} does not exist.", nameof(id));
            domain.Destroy();
        }
    }

    internal SimulatedDomain? Find(ushort id) => _domains.GetValueOrDefault(id);

    /// <summary>Destroys every domain and drops Xen's own views of their pages; dispose the guests first.</summary>
    public void Dispose()
    {
        lock (Lock)
        {
            foreach (var domain in _domains.Values)
                domain.Destroy();
            _domains.Clear();
            foreach (var domain in _created)
                domain.ReleaseViews();
            _created.Clear();
        }
    }
}
