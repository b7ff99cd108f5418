using Xen.Store.Server;

namespace Xen.Store.Tests;

/// <summary>A daemon in this process, on a socket in a folder of its own.</summary>
internal sealed class SocketDaemon : IAsyncDisposable
{
    private readonly XenstoreServer _server = new();
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mirage-xs-");
    private readonly CancellationTokenSource _stop = new();
    private Task _listening = Task.CompletedTask;

    public string Socket => Path.Combine(_dir.FullName, "socket");

    public static async Task<SocketDaemon> StartAsync()
    {
        var daemon = new SocketDaemon();
        var ready = new TaskCompletionSource();
        daemon._listening = daemon._server.ListenAsync(daemon.Socket, ready.SetResult, daemon._stop.Token);
        await ready.Task.Within();
        return daemon;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _listening.Within();
        _server.Dispose();
        _stop.Dispose();
        _dir.Delete(recursive: true);
    }
}
