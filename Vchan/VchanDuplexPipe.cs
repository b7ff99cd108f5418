using System.Buffers;
using System.IO.Pipelines;

namespace Vchan;

/// <summary>
/// A vchan as two pipes and two loops, after Kestrel's socket transport: the receive loop reads the
/// ring into the input pipe and waits on its flush (the backpressure signal); the send loop takes
/// what the application wrote to the output pipe and writes it to the ring.
/// </summary>
internal sealed class VchanDuplexPipe : IDuplexPipe
{
    internal static readonly PipeOptions DefaultOptions = new(
        pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, minimumSegmentSize: 1 << 16,
        useSynchronizationContext: false);

    private readonly VchanEndpoint _endpoint;
    private readonly Pipe _input;
    private readonly Pipe _output;

    public VchanDuplexPipe(VchanEndpoint endpoint, PipeOptions inputOptions, PipeOptions outputOptions)
    {
        _endpoint = endpoint;
        _input = new Pipe(inputOptions);
        _output = new Pipe(outputOptions);
        Receiving = Task.Run(ReceiveAsync);
        Sending = Task.Run(SendAsync);
    }

    public PipeReader Input => _input.Reader;

    public PipeWriter Output => _output.Writer;

    internal Task Receiving { get; }

    internal Task Sending { get; }

    private async Task ReceiveAsync()
    {
        Exception? error = null;
        var writer = _input.Writer;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(1);
                var n = await _endpoint.ReadAsync(memory).ConfigureAwait(false);
                if (n == 0)
                    break;
                writer.Advance(n);
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                    break;
            }
        }
        catch (ObjectDisposedException)
        {
            // Closed locally (the output completed): the input simply ends.
        }
        catch (Exception e)
        {
            error = e;
        }
        await writer.CompleteAsync(error).ConfigureAwait(false);
    }

    private async Task SendAsync()
    {
        Exception? error = null;
        var reader = _output.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                    await _endpoint.WriteAsync(segment).ConfigureAwait(false);
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                    break;
            }
        }
        catch (Exception e)
        {
            error = e;
        }
        await reader.CompleteAsync(error).ConfigureAwait(false);
        // A vchan has no half close: once the application is done writing, the vchan closes, and
        // the peer still reads every byte written before.
        _endpoint.Dispose();
    }
}
