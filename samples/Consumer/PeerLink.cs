using System.Diagnostics;
using System.IO.Pipelines;

namespace Consumer;

/// <summary>
/// The out-of-band line between the two domains, which Xenstore plays in Xen: grant refs and ports
/// go one way as text lines, acknowledgements the other. Domain 2 is a second process (its stdin and
/// stdout) or a task of this one (two pipes).
/// </summary>
internal sealed class PeerLink : IAsyncDisposable
{
    private readonly Func<ValueTask> _finish;

    private PeerLink(TextWriter toPeer, TextReader fromPeer, Func<ValueTask> finish)
    {
        ToPeer = toPeer;
        FromPeer = fromPeer;
        _finish = finish;
    }

    public TextWriter ToPeer { get; }

    public TextReader FromPeer { get; }

    /// <summary>Sends one line to the peer.</summary>
    public async Task SendAsync(string line)
    {
        await ToPeer.WriteLineAsync(line);
        await ToPeer.FlushAsync();
    }

    /// <summary>Reads the peer's next line.</summary>
    /// <exception cref="EndOfStreamException">The peer has gone.</exception>
    public async Task<string> ReceiveAsync(CancellationToken cancellationToken) =>
        await FromPeer.ReadLineAsync(cancellationToken) ?? throw new EndOfStreamException("Domain 2 has gone.");

    /// <summary>Starts this program again as domain 2.</summary>
    public static PeerLink StartProcess(string[] arguments)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot tell which program this is.");
        var start = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            start.ArgumentList.Add(typeof(PeerLink).Assembly.Location);   // run as `dotnet Consumer.dll`
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Cannot start {self}.");
        return new PeerLink(process.StandardInput, process.StandardOutput, async () =>
        {
            using var _ = process;
            process.StandardInput.Close();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("Domain 2 did not exit.");
            }
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"Domain 2 exited with code {process.ExitCode}.");
        });
    }

    /// <summary>Runs domain 2 as a task of this process, for a backend whose domains share one process.</summary>
    public static PeerLink StartTask(ushort domain, ushort peerDomain, CancellationToken cancellationToken)
    {
        var down = new Pipe();
        var up = new Pipe();
        var toPeer = new StreamWriter(down.Writer.AsStream());
        var peerOut = new StreamWriter(up.Writer.AsStream());
        var peer = Task.Run(async () =>
        {
            try
            {
                using var domain2 = await Domain.OpenAsync(domain, peerDomain, cancellationToken);
                await Domain2.RunAsync(domain2, new StreamReader(down.Reader.AsStream()), peerOut, cancellationToken);
            }
            finally
            {
                await peerOut.DisposeAsync();
            }
        }, cancellationToken);
        return new PeerLink(toPeer, new StreamReader(up.Reader.AsStream()), async () =>
        {
            await toPeer.DisposeAsync();
            await peer;
        });
    }

    /// <summary>Tells the peer there is nothing more and waits for it to finish.</summary>
    public ValueTask DisposeAsync() => _finish();
}
