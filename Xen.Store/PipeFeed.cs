using System.IO.Pipelines;

namespace Xen.Store;

/// <summary>
/// The loop of a thread that reads a descriptor into a pipe, shared by the transports that read on
/// a thread of their own: each read goes straight into the pipe's memory and is flushed at once, so
/// the pipe's reader sees every message as soon as it is in.
/// </summary>
internal static class PipeFeed
{
    /// <summary>Reads into <paramref name="buffer"/>: the bytes read, 0 at the end, or -1 when nothing
    /// came this time and the loop should go round (a timeout, an interrupted call).</summary>
    public delegate int Reader(Span<byte> buffer);

    /// <summary>
    /// Reads with <paramref name="read"/> into <paramref name="writer"/> until the end, the pipe's
    /// reader completes, or the descriptor is closed under it; then completes the writer, with the
    /// exception that stopped the loop if one did, which the pipe's reader gets as the reason.
    /// </summary>
    public static void Run(PipeWriter writer, int readSize, Reader read)
    {
        Exception? failure = null;
        try
        {
            while (true)
            {
                var n = read(writer.GetSpan(readSize));
                if (n < 0)
                    continue;
                if (n == 0)
                    break;
                writer.Advance(n);
                // The pipe's reader may hold back (its pause threshold), and then this thread waits.
                var flush = writer.FlushAsync();
                if ((flush.IsCompleted ? flush.Result : flush.AsTask().GetAwaiter().GetResult()).IsCompleted)
                    break;
            }
        }
        catch (ObjectDisposedException)
        {
            // The transport was closed while this thread read: the connection is over.
        }
        catch (Exception e)
        {
            failure = e;
        }
        writer.Complete(failure);
    }
}
