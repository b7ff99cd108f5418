using System.CommandLine;
using System.Runtime.InteropServices;
using Xen.Store;

namespace Mirage.Cli.Commands;

/// <summary><c>mirage xenstored</c>: a Xenstore daemon on a Unix domain socket.</summary>
public static class XenstoredCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var socket = new Option<string>("--socket")
        {
            Description = "Where to listen (default: $XENSTORED_PATH, else $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket).",
            DefaultValueFactory = _ => XsWire.DefaultSocketPath,
        };
        var quiet = new Option<bool>("--quiet") { Description = "Log nothing but errors." };
        var command = new Command("xenstored", "Run a Xenstore daemon on a Unix domain socket. Socket connections act as dom0; see docs/xenstore.md for acting as another domain.")
        {
            socket,
            quiet,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(socket)!;
            var silent = parse.GetValue(quiet);
            var options = new XenstoreServerOptions { Log = silent ? null : message => Console.Error.WriteLine("xenstored: " + message) };
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            // SIGTERM stops the daemon as Ctrl-C does, so that the socket is removed.
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                // System.CommandLine's own handler may have stopped the daemon and disposed the source already.
                try
                {
                    stop.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }
            });
            using var server = new XenstoreServer(options);
            try
            {
                await server.ListenAsync(path, () => Console.Error.WriteLine($"xenstored: ready on {path}"), stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"xenstored: cannot listen on {path}: {e.Message}");
                return 1;
            }
            return 0;
        });
        return command;
    }
}
