namespace Consumer;

/// <summary>Domain 2: takes what domain 1 offers, one line at a time, until domain 1 hangs up.</summary>
internal static class Domain2
{
    public static async Task RunAsync(Domain domain, TextReader fromPeer, TextWriter toPeer, CancellationToken cancellationToken)
    {
        var link = new LineLink(fromPeer, toPeer);
        while (await fromPeer.ReadLineAsync(cancellationToken) is { } line)
        {
            var words = line.Split(' ', 2);
            switch (words[0])
            {
                case GrantAndEvent.Command:
                    await GrantAndEvent.AcceptAsync(domain, words[1], link, cancellationToken);
                    break;
                case VchanStep.Command:
                    await VchanStep.AcceptAsync(domain, words[1], link, cancellationToken);
                    break;
                case NetifStep.Command:
                    await NetifStep.AcceptAsync(domain, words[1], link, cancellationToken);
                    break;
                default:
                    throw new InvalidOperationException($"Domain 2 does not know '{line}'.");
            }
        }
    }
}

/// <summary>Domain 2's end of the out-of-band line.</summary>
internal sealed class LineLink(TextReader fromPeer, TextWriter toPeer)
{
    public async Task SendAsync(string line)
    {
        await toPeer.WriteLineAsync(line);
        await toPeer.FlushAsync();
    }

    public async Task<string> ReceiveAsync(CancellationToken cancellationToken) =>
        await fromPeer.ReadLineAsync(cancellationToken) ?? throw new EndOfStreamException("Domain 1 has gone.");
}
