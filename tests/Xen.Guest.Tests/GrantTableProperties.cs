using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xen.Gnt;
using static Xen.Gnt.Xen.GrantTableAbi;

namespace Xen.Guest.Tests;

/// <summary>The grant table's bookkeeping against random schedules of shares, maps, unmaps and unshares.</summary>
public sealed class GrantTableProperties
{
    public enum Kind { Share, MapRead, MapWrite, Unmap, Unshare, Reclaim }

    public readonly record struct Step(Kind Kind, int Index, bool Writable);

    /// <summary>Any step, on one of eight shares or mappings.</summary>
    public static class Schedules
    {
        public static Arbitrary<Step> Step() =>
            Gen.Elements(Enum.GetValues<Kind>())
                .Zip(Gen.Choose(0, 7).Zip(Gen.Elements(true, false)))
                .Select(t => new Step(t.Item1, t.Item2.Item1, t.Item2.Item2))
                .ToArbitrary();
    }

    private sealed record ShareModel(Share Share, bool Writable)
    {
        public bool Live { get; set; } = true;
    }

    private sealed record MapModel(Mapping Mapping, GrantRef Ref);

    [Property(MaxTest = 60, Arbitrary = [typeof(Schedules)])]
    public bool Refs_are_free_granted_or_deferred_and_maps_succeed_exactly_when_Xen_allows(Step[] steps) => RunModel(steps);

    // A ref of an ended share stays granted (deferred) while the peer maps it, and is freed by the next
    // Share or ReclaimDeferred after the last unmap. A map succeeds iff the ref is still granted and,
    // for a writable map, the grant is writable.
    private static bool RunModel(IList<Step> steps)
    {
        using var pair = new GuestPair(grantFrames: 1);
        var one = pair.One.Memory;
        var two = pair.Two.Memory;
        var shares = new List<ShareModel>();
        var maps = new List<MapModel>();
        var deferred = new HashSet<uint>();
        var usable = EntriesPerFrame - GNTTAB_NR_RESERVED_ENTRIES;

        void Reclaimed()
        {
            deferred.RemoveWhere(r => !maps.Any(m => m.Ref.Value == r));
        }

        foreach (var step in steps)
        {
            switch (step.Kind)
            {
                case Kind.Share:
                    shares.Add(new ShareModel(one.Share(pair.Two.Id, step.Index % 3 + 1, step.Writable), step.Writable));
                    Reclaimed();
                    break;
                case Kind.MapRead or Kind.MapWrite when shares.Count > 0:
                    var gref = shares[step.Index % shares.Count].Share.Refs[0];
                    var writable = step.Kind == Kind.MapWrite;
                    // Refs are reused: the grant is whoever holds the ref now, a live share or a deferred one.
                    var holder = shares.LastOrDefault(s => s.Live && s.Share.Refs.Contains(gref))
                        ?? (deferred.Contains(gref.Value) ? shares.Last(s => s.Share.Refs.Contains(gref)) : null);
                    var allowed = holder is not null && (!writable || holder.Writable);
                    try
                    {
                        var mapping = two.Map(pair.One.Id, gref, writable);
                        Assert.True(allowed, $"map of ref {gref} (writable {writable}) should have failed");
                        maps.Add(new MapModel(mapping, gref));
                        if (writable)
                        {
                            mapping.Span[1] = (byte)(maps.Count);
                            var page = holder!.Share.Refs.ToList().IndexOf(gref) * PageBuffer.PageSize;
                            if (holder.Live)
                                Assert.Equal((byte)maps.Count, holder.Share.ReadOnlySpan[page + 1]);
                        }
                    }
                    catch (GrantException e)
                    {
                        Assert.False(allowed, $"map of ref {gref} (writable {writable}) failed: {e.Message}");
                        Assert.Equal(GrantStatus.GeneralError, e.Status);
                    }
                    break;
                case Kind.Unmap when maps.Count > 0:
                    var m = maps[step.Index % maps.Count];
                    maps.Remove(m);
                    two.Unmap(m.Mapping);
                    break;
                case Kind.Unshare when shares.Any(s => s.Live):
                    var live = shares.Where(s => s.Live).ToList();
                    var ending = live[step.Index % live.Count];
                    ending.Live = false;
                    one.Unshare(ending.Share);
                    foreach (var r in ending.Share.Refs)
                    {
                        if (maps.Any(x => x.Ref == r))
                            deferred.Add(r.Value);
                    }
                    break;
                case Kind.Reclaim:
                    one.ReclaimDeferred();
                    Reclaimed();
                    break;
            }

            var liveRefs = shares.Where(s => s.Live).Sum(s => s.Share.Refs.Count);
            Assert.Equal(deferred.Count, one.DeferredGrantCount);
            Assert.Equal(usable - liveRefs - deferred.Count, one.FreeGrantCount);
            foreach (var s in shares.Where(s => s.Live))
            {
                foreach (var r in s.Share.Refs)
                {
                    var flags = pair.One.Domain.GrantFlags(r.Value);
                    Assert.Equal(GTF_permit_access, flags & GTF_type_mask);
                    Assert.Equal(maps.Any(x => x.Ref == r), (flags & GTF_reading) != 0);
                }
            }
        }
        return true;
    }
}
