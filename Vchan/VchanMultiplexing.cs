using Microsoft.Extensions.Logging;
using Nerdbank.Streams;

namespace Vchan;

/// <summary>
/// Several named channels over one vchan, on Nerdbank.Streams' <see cref="MultiplexingStream"/>: one
/// end offers a channel by name (<see cref="MultiplexingStream.OfferChannelAsync(string, CancellationToken)"/>),
/// the other accepts it (<see cref="MultiplexingStream.AcceptChannelAsync(string, CancellationToken)"/>), and each
/// channel is a duplex pipe with its own flow control, as qrexec runs several services between two
/// domains. Both ends of the vchan must multiplex.
/// </summary>
public static class VchanMultiplexing
{
    /// <summary>
    /// Starts multiplexing over <paramref name="endpoint"/> (after the handshake with the other end's
    /// <see cref="CreateAsync"/>). Disposing the multiplexer closes the vchan.
    /// </summary>
    /// <param name="endpoint">A connected vchan end; the multiplexer owns it from here on.</param>
    /// <param name="options">Nerdbank.Streams' options, e.g. the protocol version or the default channel window.</param>
    /// <param name="logger">Where the multiplexer says that it started and ended; null for none.</param>
    /// <param name="cancellationToken">Cancels the handshake.</param>
    public static async Task<MultiplexingStream> CreateAsync(VchanEndpoint endpoint, MultiplexingStream.Options? options = null,
        ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var stream = endpoint.AsStream(ownsEndpoint: true);
        try
        {
            var mux = await MultiplexingStream.CreateAsync(stream, options, cancellationToken).ConfigureAwait(false);
            if (logger is not null)
            {
                Log.Multiplexing(logger, endpoint.IsServer ? "server" : "client", endpoint.RemoteDomain);
                _ = mux.Completion.ContinueWith(static (_, state) =>
                {
                    var (l, e) = ((ILogger, VchanEndpoint))state!;
                    Log.MultiplexingEnded(l, e.IsServer ? "server" : "client", e.RemoteDomain);
                }, (logger, endpoint), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            return mux;
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
