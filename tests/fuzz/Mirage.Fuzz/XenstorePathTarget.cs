using System.Text;
using Xen.Store;
using Xen.Store.Server;

namespace Mirage.Fuzz;

/// <summary>
/// Xenstore paths: the input is one path, which a guest or dom0 writes, reads, lists, watches and
/// removes through <see cref="XenstoreServer"/>'s path rules (characters, segments, length limits,
/// relative paths under the domain's home). Beyond "no exception inside the server", a path that a
/// write accepted must read back with the value written.
/// </summary>
/// <remarks>Input: a domain byte (0 is dom0, else a guest 1-7), then the path's bytes (Latin-1).</remarks>
public sealed class XenstorePathTarget : FuzzTarget
{
    private static readonly byte[] Value = "v"u8.ToArray();

    public override string Name => "xenstore-path";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var script = new FuzzInput(input);
        var domain = (ushort)(script.Byte() & 7);
        var path = script.Rest();
        // A NUL ends the path on the wire: what follows it is the next argument, not part of the path.
        if (path.IndexOf((byte)0) is var nul and >= 0)
            path = path[..nul];
        if (path.Length > XsWire.PayloadMax - 8)
            path = path[..(XsWire.PayloadMax - 8)];
        byte[] Arg(params byte[][] parts) => [.. parts.SelectMany(p => p)];
        var p0 = Arg(path.ToArray(), [0]);
        var stream = new List<byte>();
        void Send(XsMessageType type, uint id, byte[] payload) => stream.AddRange(XenstoreConnection.Message(type, id, 0, payload));
        Send(XsMessageType.Write, 1, Arg(path.ToArray(), [0], Value));
        Send(XsMessageType.Read, 2, p0);
        Send(XsMessageType.Directory, 3, p0);
        Send(XsMessageType.GetPerms, 4, p0);
        Send(XsMessageType.Watch, 5, Arg(p0, "t\0"u8.ToArray()));
        Send(XsMessageType.Mkdir, 6, p0);
        Send(XsMessageType.Rm, 7, p0);
        // A guest's home, as the toolstack makes it: dom0 creates it and gives it to the guest.
        var home = XsWire.DomainPath(domain);
        var setup = domain == 0 ? [] : Arg(
            XenstoreConnection.Message(XsMessageType.Mkdir, 0, 0, Encoding.ASCII.GetBytes(home + "\0")),
            XenstoreConnection.Message(XsMessageType.SetPerms, 0, 0, Encoding.ASCII.GetBytes($"{home}\0n{domain}\0")));
        var output = XenstoreConnection.ExchangeTwo(setup, stream.ToArray(), domain);
        var replies = XenstoreConnection.Messages(output).Where(m => m.Header.Type != XsMessageType.WatchEvent).ToDictionary(m => m.Header.ReqId);
        if (replies.TryGetValue(1, out var write) && write.Header.Type == XsMessageType.Write
            && replies.TryGetValue(2, out var read) && !(read.Header.Type == XsMessageType.Read && read.Payload.AsSpan().SequenceEqual(Value)))
        {
            throw new FuzzFinding($"The path '{Encoding.Latin1.GetString(path)}' took a write but read back as {read.Header.Type} '{Encoding.Latin1.GetString(read.Payload)}'.");
        }
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        yield return ("dom0-absolute", [0, .. "/local/domain/0/data/x"u8]);
        yield return ("dom0-root", [0, .. "/"u8]);
        yield return ("guest-relative", [3, .. "device/vbd/768/state"u8]);
        yield return ("guest-absolute-home", [3, .. "/local/domain/3/a_b-c@d"u8]);
        yield return ("special-watch", [0, .. "@introduceDomain"u8]);
        yield return ("bad-double-slash", [0, .. "/a//b"u8]);
    }
}
