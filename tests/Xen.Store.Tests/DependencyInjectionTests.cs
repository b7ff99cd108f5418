using Microsoft.Extensions.DependencyInjection;
using Xen.Store.Server;

namespace Xen.Store.Tests;

/// <summary><c>AddXenstore</c>: one client, connected on first resolve, closed by the container.</summary>
public sealed class DependencyInjectionTests : IAsyncLifetime
{
    private readonly XenstoreServer _server = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mirage-xs-di-");
    private Task _listening = Task.CompletedTask;

    private string Socket => Path.Combine(_dir.FullName, "socket");

    public async Task InitializeAsync()
    {
        var ready = new TaskCompletionSource();
        _listening = _server.ListenAsync(Socket, ready.SetResult, _stop.Token);
        await ready.Task.Within();
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _listening.Within();
        _server.Dispose();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task The_client_connects_to_the_configured_socket_when_first_resolved()
    {
        var services = new ServiceCollection().AddXenstore(o => o.Path = Socket);
        await using var provider = services.BuildServiceProvider();
        Assert.Equal(0, _server.ConnectionCount);
        var client = provider.GetRequiredService<XenstoreClient>();
        Assert.Same(client, provider.GetRequiredService<XenstoreClient>());
        await client.WriteAsync("/di/k", "v").Within();   // dom0 may write anywhere
        Assert.Equal(1, _server.ConnectionCount);
    }

    [Fact]
    public async Task The_configured_domain_is_claimed_and_relative_paths_are_its_own()
    {
        await using (var dom0 = await XenstoreClient.ConnectAsync(Socket).Within())
        {
            await dom0.MkdirAsync("/local/domain/5").Within();
            await dom0.SetPermissionsAsync("/local/domain/5", XsPermissions.Create(5)).Within();
        }
        await using var provider = new ServiceCollection().AddXenstore(o => { o.Path = Socket; o.Domain = 5; }).BuildServiceProvider();
        var client = provider.GetRequiredService<XenstoreClient>();
        await client.WriteAsync("name", "five").Within();
        Assert.Equal("five", await client.ReadAsync("/local/domain/5/name").Within());
        var refused = await Assert.ThrowsAsync<XenstoreException>(() => client.WriteAsync("/elsewhere", "x").Within());
        Assert.Equal(XsError.EACCES, refused.Error);
    }

    [Fact]
    public void Without_a_daemon_resolving_says_where_it_looked_and_what_to_start()
    {
        var missing = Path.Combine(_dir.FullName, "no-daemon");
        using var provider = new ServiceCollection().AddXenstore(o => o.Path = missing).BuildServiceProvider();
        var e = Assert.Throws<IOException>(() => provider.GetRequiredService<XenstoreClient>());
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
        Assert.Contains("mirage xenstored", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disposing_the_container_synchronously_closes_the_connection()
    {
        var provider = new ServiceCollection().AddXenstore(o => o.Path = Socket).BuildServiceProvider();
        var client = provider.GetRequiredService<XenstoreClient>();
        await client.WriteAsync("/di/d", "v").Within();
        provider.Dispose();
        await Assert.ThrowsAsync<XenstoreException>(() => client.ReadAsync("/di/d").Within());
    }

    [Fact]
    public async Task A_connect_function_supplies_the_client_for_a_daemon_in_this_process()
    {
        using var server = new XenstoreServer();
        await using var provider = new ServiceCollection().AddXenstore(_ => XenstoreClient.Connect(server.Connect(domain: 0))).BuildServiceProvider();
        await provider.GetRequiredService<XenstoreClient>().WriteAsync("/here", "yes").Within();
        await using var other = XenstoreClient.Connect(server.Connect());
        Assert.Equal("yes", await other.ReadAsync("/here").Within());
    }
}
