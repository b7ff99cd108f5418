using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Xen.Store.Tests;

/// <summary>Debian's xenstore-utils (libxenstore) against the real <c>mirage xenstored</c> process.</summary>
public sealed class InteropTests : IClassFixture<DaemonProcess>
{
    private readonly DaemonProcess _daemon;

    public InteropTests(DaemonProcess daemon) => _daemon = daemon;

    private void Ok(string tool, params string[] args)
    {
        var (code, output) = _daemon.Tool(tool, args);
        Assert.True(code == 0, $"{tool} {string.Join(' ', args)} exited {code}: {output}");
    }

    [Fact]
    public async Task Xenstore_write_and_read_round_trip_with_our_client()
    {
        Ok("xenstore-write", "/interop/a", "from-c", "/interop/b", "two");
        Assert.Equal("from-c\n", _daemon.Tool("xenstore-read", "/interop/a").Output);
        await using var client = await XenstoreClient.ConnectAsync(_daemon.SocketPath);
        Assert.Equal("two", await client.ReadAsync("/interop/b"));
        await client.WriteAsync("/interop/c", "from-dotnet");
        Assert.Equal("from-dotnet\n", _daemon.Tool("xenstore-read", "/interop/c").Output);
    }

    [Fact]
    public void Xenstore_read_of_a_missing_node_fails()
    {
        Assert.NotEqual(0, _daemon.Tool("xenstore-read", "/interop/missing").Code);
    }

    [Fact]
    public void Xenstore_ls_lists_the_tree_with_values()
    {
        Ok("xenstore-write", "/ls/x/y", "1", "/ls/z", "2");
        var (code, output) = _daemon.Tool("xenstore-ls", "/ls");
        Assert.Equal(0, code);
        Assert.Equal(["x = \"\"", " y = \"1\"", "z = \"2\""], output.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Xenstore_rm_removes_a_subtree()
    {
        Ok("xenstore-write", "/rm/x/y", "1");
        Ok("xenstore-rm", "/rm/x");
        await using var client = await XenstoreClient.ConnectAsync(_daemon.SocketPath);
        Assert.Empty(await client.DirectoryAsync("/rm"));
    }

    [Fact]
    public async Task Xenstore_chmod_sets_permissions_owner_first()
    {
        Ok("xenstore-write", "/chmod/node", "v");
        Ok("xenstore-chmod", "/chmod/node", "b3", "r4");
        await using var client = await XenstoreClient.ConnectAsync(_daemon.SocketPath);
        Assert.Equal(XsPermissions.Create(3, XsAccess.Both, new XsPermission(4, XsAccess.Read)), await client.GetPermissionsAsync("/chmod/node"));
        Assert.Contains("(b3,r4)", _daemon.Tool("xenstore-ls", "-p", "/chmod").Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Xenstore_watch_sees_the_initial_event_and_our_write()
    {
        Ok("xenstore-write", "/watched", "");
        using var watch = _daemon.StartTool("xenstore-watch", "-n", "2", "/watched");
        try
        {
            var first = await watch.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal("/watched", first);
            await using var client = await XenstoreClient.ConnectAsync(_daemon.SocketPath);
            await client.WriteAsync("/watched/child", "v");
            var second = await watch.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal("/watched/child", second);
            Assert.True(watch.WaitForExit(20_000));
        }
        finally
        {
            if (!watch.HasExited)
                watch.Kill();
        }
    }

    [Fact]
    public async Task A_socket_connection_can_act_as_another_domain()
    {
        Ok("xenstore-write", "/private", "dom0-only");
        await using var client = await XenstoreClient.ConnectAsync(_daemon.SocketPath);
        Assert.Equal("dom0-only", await client.ReadAsync("/private"));
        await client.ActAsDomainAsync(7);
        var e = await Assert.ThrowsAsync<XenstoreException>(() => client.ReadAsync("/private"));
        Assert.Equal(XsError.EACCES, e.Error);
        var again = await Assert.ThrowsAsync<XenstoreException>(() => client.ActAsDomainAsync(0));
        Assert.Equal(XsError.EACCES, again.Error);
    }
}

/// <summary>The daemon process's lifetime: SIGTERM stops it cleanly and removes its socket.</summary>
public class DaemonLifetimeTests
{
    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    [Fact]
    public void Sigterm_stops_the_daemon_and_removes_its_socket()
    {
        using var daemon = new DaemonProcess();
        Assert.True(File.Exists(daemon.SocketPath));
        Assert.Equal(0, kill(daemon.Process.Id, 15));
        Assert.True(daemon.Process.WaitForExit(20_000));
        Assert.Equal(0, daemon.Process.ExitCode);
        Assert.False(File.Exists(daemon.SocketPath));
    }
}
