using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Xen.Evtchn;

namespace Architecture.Tests;

/// <summary>
/// One waiter: waiting for an event channel is written once, in Xen.Evtchn (<see cref="EventWaiter"/>),
/// with one rule for cancellation and reuse, and every event backend uses it.
/// </summary>
public sealed class WaiterTests
{
    /// <summary>Completion sources outside Xen.Evtchn that are not event waits, each with why.</summary>
    private static readonly Dictionary<string, string> NotEventWaits = new()
    {
        ["Blkif.BlockOperation"] = "completes one block request when its response arrives; it waits for no event channel",
        ["Xen.Store.PendingRequest"] = "completes one Xenstore request when its reply arrives on the connection; it waits for no event channel",
    };

    public static TheoryData<string> Libraries => new(LibraryAssemblies.Names.Where(n => n != "Xen.Evtchn"));

    public static TheoryData<string> EventBackends => new(LibraryAssemblies.EventBackends);

    [Theory]
    [MemberData(nameof(Libraries))]
    public void Only_Xen_Evtchn_has_a_waiter(string library)
    {
        var waiters = Waiters(library).Where(t => !NotEventWaits.ContainsKey(t.FullName!)).Select(t => t.FullName).ToList();
        Assert.True(waiters.Count == 0,
            $"{library} defines its own waiters: {string.Join(", ", waiters)}. Wait with Xen.Evtchn's EventWaiter instead.");
    }

    [Theory]
    [MemberData(nameof(EventBackends))]
    public void Every_event_backend_waits_with_the_one_waiter(string backend)
    {
        var holders = LibraryAssemblies.TypesOf(backend)
            .Where(t => t.GetFields(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .Any(f => f.FieldType == typeof(EventWaiter)))
            .ToList();
        Assert.True(holders.Count > 0, $"{backend} holds no EventWaiter: how do its receivers wait?");
    }

    [Fact]
    public void The_check_finds_the_one_waiter_where_it_lives()
    {
        Assert.NotEmpty(Waiters("Xen.Evtchn"));
        Assert.Contains(Waiters("Blkif"), t => t.FullName == "Blkif.BlockOperation");
    }

    [Fact]
    public void Every_exemption_names_a_type_that_exists()
    {
        foreach (var name in NotEventWaits.Keys)
            Assert.NotNull(LibraryAssemblies.Load(name[..name.LastIndexOf('.')]).GetType(name));
    }

    /// <summary>Types that complete an awaited operation themselves, or say they wait; not the compiler's
    /// async iterators, which complete their own enumeration.</summary>
    private static IEnumerable<Type> Waiters(string library) =>
        LibraryAssemblies.TypesOf(library).Where(t => !t.IsDefined(typeof(CompilerGeneratedAttribute), false)).Where(t =>
            t.Name.EndsWith("Waiter", StringComparison.Ordinal)
            || t.GetInterfaces().Any(i => i == typeof(IValueTaskSource)
                || (i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IValueTaskSource<>))));
}
