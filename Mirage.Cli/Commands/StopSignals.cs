using System.Runtime.InteropServices;

namespace Mirage.Cli.Commands;

/// <summary>Ctrl-C and SIGTERM as one cancellation, so that a command closes its device the standard way.</summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration _term;

    private StopSignals(CancellationToken cancellationToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            try
            {
                _stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The signal raced the command's end: there is nothing left to stop.
            }
        });
    }

    public static StopSignals Link(CancellationToken cancellationToken) => new(cancellationToken);

    public CancellationToken Token => _stop.Token;

    public bool IsCancellationRequested => _stop.IsCancellationRequested;

    public void Dispose()
    {
        _term.Dispose();
        _stop.Dispose();
    }
}
