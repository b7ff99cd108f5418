using System.Globalization;
using System.Runtime.InteropServices;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt;
using Xen.Gnt.Unix;

// A peer domain for the cross-process tests. Reads one command per line on stdin and answers one line:
// "ok ..." or "error <exception type> <detail>". The domain and root come from XEN_DOMID and XEN_ROOT.
// "peer memory" runs without the events backend (several such processes may share one domain id).
// "peer linger <remote>" is a granter that dies slowly (Linger.cs).
if (args is ["linger", var lingerFor])
{
    Linger.Run(ushort.Parse(lingerFor, CultureInfo.InvariantCulture));
    return 0;
}
var memoryOnly = args.Length > 0 && args[0] == "memory";
UnixEvents? events = memoryOnly ? null : new UnixEvents(new UnixEventsOptions());
var sendEvent = events is { } e ? e.SendOnPort() : null;
var memory = new UnixMemory(new UnixMemoryOptions(), sendEvent);
var buffers = new Dictionary<int, PageBuffer>();
var nextId = 1;
Console.Out.WriteLine("ready " + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
Console.Out.Flush();

while (Console.In.ReadLine() is { } line)
{
    var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    if (words.Length == 0)
        continue;
    string reply;
    try
    {
        reply = "ok " + await Run(words).ConfigureAwait(false);
    }
    catch (Exception ex)
    {
        var detail = ex is GrantException g ? g.Status.ToString() : ex.Message.Replace('\n', ' ');
        reply = $"error {ex.GetType().Name} {detail}";
    }
    Console.Out.WriteLine(reply);
    Console.Out.Flush();
    if (words[0] == "exit")
        break;
}
return 0;

async Task<string> Run(string[] w)
{
    UnixEvents Ev() => events ?? throw new InvalidOperationException("no events in memory-only mode");
    ushort U16(int i) => ushort.Parse(w[i], CultureInfo.InvariantCulture);
    int I32(int i) => int.Parse(w[i], CultureInfo.InvariantCulture);
    switch (w[0])
    {
        case "share":
        {
            // share <remote> <pages> <rw|ro> [clear-offset] [event-port]
            var notify = w.Length > 5 ? UnmapNotify.ClearByteAndSendEvent(I32(4), uint.Parse(w[5], CultureInfo.InvariantCulture))
                : w.Length > 4 ? UnmapNotify.ClearByte(I32(4)) : UnmapNotify.None;
            var share = memory.Share(U16(1), I32(2), w[3] == "rw", notify);
            buffers[nextId] = share;
            return $"{nextId++} {string.Join(',', share.Refs)}";
        }
        case "alloc":
        {
            // alloc <remote> <count>: many one-page shares at once, refs printed
            var refs = new List<uint>();
            for (var i = 0; i < I32(2); i++)
            {
                var share = memory.Share(U16(1), 1, true);
                buffers[nextId++] = share;
                refs.Add(share.Refs[0].Value);
            }
            return string.Join(',', refs);
        }
        case "map":
        {
            // map <remote> <ref,ref,...> <rw|ro> [clear-offset]
            var refs = w[2].Split(',').Select(r => GrantRef.Parse(r)).ToArray();
            var notify = w.Length > 4 ? UnmapNotify.ClearByte(I32(4)) : UnmapNotify.None;
            buffers[nextId] = memory.MapMany(U16(1), refs, w[3] == "rw", notify);
            return (nextId++).ToString(CultureInfo.InvariantCulture);
        }
        case "write":
            // write <id> <offset> <byte>: through the span
            buffers[I32(1)].Span[I32(2)] = byte.Parse(w[3], CultureInfo.InvariantCulture);
            return "";
        case "poke":
            // poke <id> <offset> <byte>: through the raw pointer, from native code (faults on a read-only page)
            unsafe
            {
                Native.memset(buffers[I32(1)].Pointer + I32(2), byte.Parse(w[3], CultureInfo.InvariantCulture), 1);
            }
            return "";
        case "read":
            return buffers[I32(1)].ReadOnlySpan[I32(2)].ToString(CultureInfo.InvariantCulture);
        case "free":
            ((IDisposable)buffers[I32(1)]).Dispose();
            buffers.Remove(I32(1));
            return "";
        case "listen":
            return Ev().Listen(U16(1)).Port.ToString();
        case "connect":
            return Ev().Connect(U16(1), Port.Parse(w[2])).LocalPort.ToString();
        case "send":
            Ev().Send(new Channel(Port.Parse(w[1])));
            return "";
        case "recv":
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var seen = await Ev().RecvAsync(new Channel(Port.Parse(w[1])), new EventCounter(ulong.Parse(w[2], CultureInfo.InvariantCulture)), timeout.Token).ConfigureAwait(false);
            return seen.Value.ToString(CultureInfo.InvariantCulture);
        }
        case "echo":
        {
            // echo <port> <count>: answer each notification with one, until count have come
            var channel = new Channel(Port.Parse(w[1]));
            var target = ulong.Parse(w[2], CultureInfo.InvariantCulture);
            var seen = EventCounter.Initial;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            while (seen.Value < target)
            {
                seen = await Ev().RecvAsync(channel, seen, timeout.Token).ConfigureAwait(false);
                Ev().Send(channel);
            }
            return seen.Value.ToString(CultureInfo.InvariantCulture);
        }
        case "ringback":
        {
            // ringback <remote> <ref,ref,...> <port> <count>: map the frontend's ring, connect, answer count requests
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            using var ring = memory.MapMany(U16(1), w[2].Split(',').Select(GrantRef.Parse).ToArray(), writable: true);
            var channel = Ev().Connect(U16(1), Port.Parse(w[3]));
            var answered = await Xen.Unix.Peer.RingExchange.BackAsync(Ev(), channel, ring, I32(4), timeout.Token).ConfigureAwait(false);
            Ev().Close(channel);
            return answered.ToString(CultureInfo.InvariantCulture);
        }
        case "close":
            Ev().Close(new Channel(Port.Parse(w[1])));
            return "";
        case "exit":
            foreach (IDisposable b in buffers.Values)
                b.Dispose();
            memory.Dispose();
            events?.Dispose();
            return "";
        default:
            throw new ArgumentException($"unknown command {w[0]}");
    }
}

internal static unsafe partial class Native
{
    [LibraryImport("libc")]
    internal static partial void* memset(void* s, int c, nuint n);
}
