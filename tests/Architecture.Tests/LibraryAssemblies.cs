using System.Reflection;

namespace Architecture.Tests;

/// <summary>Every library the project ships: the interfaces, the backends and the drivers (Xen.Unix.Common
/// is source compiled into the Unix backends, and checked there).</summary>
public static class LibraryAssemblies
{
    /// <summary>The event backends, each of which must wait with Xen.Evtchn's one waiter.</summary>
    public static readonly string[] EventBackends = ["Xen.Evtchn.InHeap", "Xen.Evtchn.Unix", "Xen.Evtchn.Xenctrl", "Xen.Evtchn.Xen"];

    public static readonly string[] Names =
    [
        "Xen.Evtchn",
        "Xen.Gnt",
        .. EventBackends,
        "Xen.Gnt.InHeap",
        "Xen.Gnt.Unix",
        "Xen.Gnt.Xenctrl",
        "Xen.Gnt.Xen",
        "Xen.InHeap",
        "Xen.Unix",
        "Xen.Xenctrl",
        .. DriverAssemblies.Names,
    ];

    public static Assembly Load(string name) => Assembly.Load(new AssemblyName(name));

    /// <summary>Every type the assembly defines, nested and compiler-generated ones included.</summary>
    public static Type[] TypesOf(string name) => Load(name).GetTypes();
}
