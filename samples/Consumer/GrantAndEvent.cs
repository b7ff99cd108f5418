using System.Text;
using Xen.Evtchn;
using Xen.Gnt;

namespace Consumer;

/// <summary>
/// The two primitives by hand: domain 1 shares a page and offers an event channel; domain 2 maps the
/// page, writes its answer into it and rings the doorbell.
/// </summary>
internal static class GrantAndEvent
{
    public const string Command = "grant";
    private const int AnswerOffset = 2048;

    public static async Task OfferAsync(Domain domain, PeerLink peer, CancellationToken cancellationToken)
    {
        using var share = domain.Memory.Share(domain.Peer, pageCount: 1, writable: true);
        WriteText(share.Span, $"hello from domain {domain.Id}");
        var (port, channel) = domain.Events.Listen(domain.Peer);
        try
        {
            await peer.SendAsync($"{Command} {share.Refs[0]} {port}");
            var counter = await domain.Events.RecvAsync(channel, EventCounter.Initial, cancellationToken);
            var answer = ReadText(share.ReadOnlySpan[AnswerOffset..]);
            Console.WriteLine($"grant and event: domain {domain.Peer} mapped grant {share.Refs[0]}, wrote \"{answer}\" and notified port {port} (counter {counter.Value})");
            await peer.SendAsync("done");
        }
        finally
        {
            domain.Events.Close(channel);
        }
    }

    public static async Task AcceptAsync(Domain domain, string arguments, LineLink peer, CancellationToken cancellationToken)
    {
        var words = arguments.Split(' ');
        var grant = GrantRef.Parse(words[0]);
        var port = Port.Parse(words[1]);
        using var mapping = domain.Memory.Map(domain.Peer, grant, writable: true);
        WriteText(mapping.Span[AnswerOffset..], $"domain {domain.Id} read '{ReadText(mapping.ReadOnlySpan)}'");
        var channel = domain.Events.Connect(domain.Peer, port);
        try
        {
            domain.Events.Send(channel);
            await peer.ReceiveAsync(cancellationToken);   // "done": domain 1 has read the answer
        }
        finally
        {
            domain.Events.Close(channel);
        }
    }

    private static void WriteText(Span<byte> page, string text)
    {
        var length = Encoding.UTF8.GetBytes(text, page);
        page[length] = 0;
    }

    private static string ReadText(ReadOnlySpan<byte> page)
    {
        var end = page.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? page : page[..end]);
    }
}
