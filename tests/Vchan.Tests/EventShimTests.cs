using TestSupport;

namespace Vchan.Tests;

/// <summary>
/// The event-channel shim under <see cref="LibxenvchanTests"/> (<c>xenvchan/xen_unix_evtchn.c</c>) on
/// its own, where the convention of <c>docs/unix-backend.md</c> leaves it an order to get right.
/// </summary>
public sealed class EventShimTests : IDisposable
{
    private readonly string _root = Directory.CreateDirectory(
        Path.Combine("/dev/shm", "mirage-evshim-" + Guid.NewGuid().ToString("N")[..12]),
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute).FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    // A sender counts, then takes the waiting word and rings. When the shim delivers the event and
    // unmasks in between, the ring takes the word the unmask set. Before the shim's doorbell thread set
    // it again after every ring, the next send rang nobody, and about one run in ten of
    // LibxenvchanTests' exchanges over in-page rings stalled.
    [LibxenvchanFact]
    public async Task An_event_after_a_late_ring_for_a_delivered_one_still_wakes_the_port()
    {
        // The shims' header has more helpers than the program uses.
        var program = CProgram.Compile(Path.Combine("xenvchan", "late_ring.c"), "-lxenevtchn", "-Wno-unused-function").Executable;
        using var shim = new PeerProcess(Libxenvchan.OnShims(program, _root, 2, "3"));
        await shim.ExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("delivered", shim.Output.Trim());
    }
}
