namespace Xen.Evtchn.Unix;

/// <summary>
/// This process's doorbell (see <c>docs/unix-backend.md</c>): a page file in the domain folder whose
/// first word every peer bumps, then wakes with <c>FUTEX_WAKE</c>, when it finds a receiver of this
/// process waiting. One thread sleeps on the word in <c>FUTEX_WAIT</c> and, after each ring, lets the
/// channels with receivers look at their counters.
/// </summary>
/// <remarks>
/// A futex, not the channel's socket: a ring is one system call for the sender and none for the woken
/// thread, where a socket doorbell cost a <c>send</c>, an <c>epoll_wait</c> return and a <c>recv</c>.
/// Every peer can write the word, so a ring only says "look": the counters decide what happened, a
/// stray ring costs one look at the waiting channels, and no peer can keep another's ring from waking
/// the thread (a wake is a system call, not a value in the page).
/// </remarks>
internal sealed unsafe class Doorbell : IDisposable
{
    /// <summary>The doorbell's name inside the domain folder.</summary>
    public const string FileName = "evtchn-doorbell";

    private readonly string _path;
    private readonly byte* _page;
    private readonly Action _rung;
    private readonly Thread _thread;
    private volatile bool _stopping;

    /// <summary>Creates the doorbell of the domain at <paramref name="folder"/> and starts its thread, which
    /// calls <paramref name="rung"/> after every ring (and once at the start).</summary>
    public Doorbell(string folder, ushort domain, Action rung)
    {
        _path = Path.Combine(folder, FileName);
        _page = PageFile.Create(_path);
        _rung = rung;
        _thread = new Thread(Run) { IsBackground = true, Name = $"evtchn doorbell {domain}" };
        _thread.Start();
    }

    /// <summary>Rings a peer's doorbell, mapped at <paramref name="page"/>.</summary>
    public static void Ring(byte* page)
    {
        var word = (uint*)page;
        // The increment comes first: a thread about to sleep on the old value then does not sleep.
        Interlocked.Increment(ref *word);
        Interop.Libc.FutexWake(word, 1);
    }

    private void Run()
    {
        var word = (uint*)_page;
        while (!_stopping)
        {
            // Read before the look: a ring after it changes the word, and the wait below then returns at once.
            var seen = Volatile.Read(ref *word);
            _rung();
            if (_stopping)
                return;
            Interop.Libc.FutexWait(word, seen);
        }
    }

    /// <summary>Stops the thread, removes the file (peers that still map it ring nobody), unmaps the page.</summary>
    public void Dispose()
    {
        if (_stopping)
            return;
        _stopping = true;
        Ring(_page);
        if (Thread.CurrentThread != _thread)
            _thread.Join();
        Interop.Libc.Unlink(_path);
        PageFile.Unmap(_page);
    }
}
