using System.Security.Cryptography;

namespace Mirage.Cli.Tests;

/// <summary>
/// <c>mirage vchan-cat</c> as a user runs it: a <c>mirage xenstored</c> on a private socket and two
/// <c>vchan-cat</c> processes, domains 1 (server) and 2 (client) over the Unix backends in a private root.
/// </summary>
[Collection("processes")]
public sealed class VchanCatTests : IAsyncLifetime
{
    private const int Size = 64 << 20;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _root = Path.Combine("/dev/shm", "mirage-cli-test-" + Guid.NewGuid().ToString("N")[..12]);
    private MirageProcess? _daemon;

    private string Socket => _root + ".xenstored";

    private Dictionary<string, string> Environment => new() { ["XEN_ROOT"] = _root, ["XENSTORED_PATH"] = Socket };

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _daemon = new MirageProcess(Environment, "xenstored", "--socket", Socket);
        await _daemon.WaitForErrorLineAsync("xenstored: ready", Timeout);
    }

    public Task DisposeAsync()
    {
        _daemon?.Dispose();
        Directory.Delete(_root, recursive: true);
        File.Delete(Socket);
        return Task.CompletedTask;
    }

    [Fact]
    public Task Client_to_server_64_MiB_arrive_intact_and_both_exit_0() =>
        PipeAsync(fromServer: false);

    [Fact]
    public Task Server_to_client_64_MiB_arrive_intact_and_both_exit_0() =>
        PipeAsync(fromServer: true);

    [Fact]
    public async Task A_client_without_a_server_exits_1_saying_so()
    {
        using var client = new MirageProcess(Environment, "vchan-cat", "--domain", "2", "--timeout", "1", "1", "nobody");
        Assert.Equal(1, await client.ExitCodeAsync(Timeout));
        Assert.Contains("No vchan appeared at /local/domain/1/data/vchan/2/nobody", client.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_daemon_vchan_cat_exits_1_and_says_how_to_start_one()
    {
        var environment = Environment;
        environment["XENSTORED_PATH"] = _root + ".missing";
        using var server = new MirageProcess(environment, "vchan-cat", "--domain", "1", "--listen", "2", "p");
        Assert.Equal(1, await server.ExitCodeAsync(Timeout));
        Assert.Contains("mirage xenstored --socket " + _root + ".missing", server.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sender_whose_peer_closes_before_taking_all_its_input_exits_1_saying_so()
    {
        using var server = new MirageProcess(Environment, "vchan-cat", "--domain", "1", "--listen", "2", "early");
        using var client = new MirageProcess(Environment, "vchan-cat", "--domain", "2", "1", "early");
        // The server has nothing to send: once connected it closes, while the client has 64 MiB to give.
        server.StandardInput.Close();
        var draining = server.StandardOutput.CopyToAsync(Stream.Null);
        var feeding = Task.Run(async () =>
        {
            var chunk = new byte[1 << 20];
            try
            {
                for (var sent = 0; sent < Size; sent += chunk.Length)
                    await client.StandardInput.WriteAsync(chunk);
                client.StandardInput.Close();
            }
            catch (IOException)
            {
                // The client exited without reading it all: the point of the test.
            }
        });
        Assert.True(await server.ExitCodeAsync(Timeout) == 0, "server: " + server.Errors);
        Assert.True(await client.ExitCodeAsync(Timeout) == 1, "client: " + client.Errors);
        Assert.Contains("before all of standard input was sent", client.Errors, StringComparison.Ordinal);
        await Task.WhenAll(feeding, draining).WaitAsync(Timeout);
    }

    // The sender's standard input carries the bytes and then ends; the receiver's stays open, so the
    // receiver ends only because the sender's close reached it after the last byte.
    private async Task PipeAsync(bool fromServer)
    {
        using var server = new MirageProcess(Environment, "vchan-cat", "--domain", "1", "--listen", "2", "cat");
        using var client = new MirageProcess(Environment, "vchan-cat", "--domain", "2", "1", "cat");
        var (sender, receiver) = fromServer ? (server, client) : (client, server);

        var sending = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var chunk = new byte[1 << 20];
            for (var sent = 0; sent < Size; sent += chunk.Length)
            {
                RandomNumberGenerator.Fill(chunk);
                hash.AppendData(chunk);
                await sender.StandardInput.WriteAsync(chunk);
            }
            sender.StandardInput.Close();
            return hash.GetHashAndReset();
        });
        var receiving = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 16];
            long total = 0;
            int n;
            while ((n = await receiver.StandardOutput.ReadAsync(buffer)) != 0)
            {
                hash.AppendData(buffer, 0, n);
                total += n;
            }
            return (hash.GetHashAndReset(), total);
        });

        var sentHash = await sending.WaitAsync(Timeout);
        var (receivedHash, length) = await receiving.WaitAsync(Timeout);
        Assert.True(await sender.ExitCodeAsync(Timeout) == 0, "sender: " + sender.Errors);
        Assert.True(await receiver.ExitCodeAsync(Timeout) == 0, "receiver: " + receiver.Errors);
        Assert.Equal(Size, length);
        Assert.Equal(Convert.ToHexString(sentHash), Convert.ToHexString(receivedHash));
    }
}
