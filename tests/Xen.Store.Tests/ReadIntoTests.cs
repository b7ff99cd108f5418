using Xen.Store.Server;

namespace Xen.Store.Tests;

/// <summary>Reads into the caller's memory (<see cref="XenstoreOperations.ReadBytesAsync(string, Memory{byte}, CancellationToken)"/>).</summary>
public sealed class ReadIntoTests : IAsyncLifetime
{
    private readonly XenstoreServer _server = new();
    private XenstoreClient _client = null!;

    public Task InitializeAsync()
    {
        _client = XenstoreClient.Connect(_server.Connect());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        _server.Dispose();
    }

    [Fact]
    public async Task The_value_lands_in_the_buffer_and_its_length_is_returned()
    {
        byte[] value = [0, 1, 2, 255, 0];
        await _client.WriteAsync("/bin", value);
        var buffer = new byte[16];
        var length = await _client.ReadBytesAsync("/bin", buffer).AsTask().Within();
        Assert.Equal(value, buffer[..length]);
    }

    [Fact]
    public async Task A_value_that_does_not_fit_is_E2BIG_and_the_connection_goes_on()
    {
        await _client.WriteAsync("/long", "0123456789");
        var e = await Assert.ThrowsAsync<XenstoreException>(() => _client.ReadBytesAsync("/long", new byte[4]).AsTask().Within());
        Assert.Equal(XsError.E2BIG, e.Error);
        Assert.Equal("0123456789", await _client.ReadAsync("/long").Within());
    }

    [Fact]
    public async Task A_missing_node_is_ENOENT()
    {
        var e = await Assert.ThrowsAsync<XenstoreException>(() => _client.ReadBytesAsync("/nothing", new byte[16]).AsTask().Within());
        Assert.Equal(XsError.ENOENT, e.Error);
    }

    [Fact]
    public async Task Relative_paths_resolve_under_the_home()
    {
        await _client.WriteAsync("/local/domain/0/rel", "here");
        var buffer = new byte[16];
        var length = await _client.ReadBytesAsync("rel", buffer).AsTask().Within();
        Assert.Equal("here"u8.ToArray(), buffer[..length]);
    }

    [Fact]
    public async Task Inside_a_transaction_it_sees_the_transactions_writes()
    {
        await _client.WriteAsync("/t", "before");
        var seen = await _client.TransactionAsync(async tx =>
        {
            await tx.WriteAsync("/t", "inside");
            var buffer = new byte[16];
            var length = await tx.ReadBytesAsync("/t", buffer);
            return System.Text.Encoding.ASCII.GetString(buffer, 0, length);
        }).Within();
        Assert.Equal("inside", seen);
    }

    [Fact]
    public async Task Reads_reuse_their_awaitables_and_each_gets_its_own_value()
    {
        for (var i = 0; i < 8; i++)
            await _client.WriteAsync($"/many/{i}", new string((char)('a' + i), i + 1));
        var buffers = Enumerable.Range(0, 8).Select(_ => new byte[16]).ToArray();
        for (var round = 0; round < 100; round++)
        {
            var reads = Enumerable.Range(0, 8).Select(i => _client.ReadBytesAsync($"/many/{i}", buffers[i]).AsTask()).ToArray();
            var lengths = await Task.WhenAll(reads).Within();
            for (var i = 0; i < 8; i++)
                Assert.Equal(new string((char)('a' + i), i + 1), System.Text.Encoding.ASCII.GetString(buffers[i], 0, lengths[i]));
        }
    }

    [Fact]
    public async Task A_cancelled_read_is_cancelled_and_the_next_read_works()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _client.ReadBytesAsync("/x", new byte[16], cancelled.Token).AsTask().Within());
        await _client.WriteAsync("/x", "v");
        Assert.Equal(1, await _client.ReadBytesAsync("/x", new byte[16]).AsTask().Within());
    }

    [Fact]
    public async Task A_closed_connection_fails_the_read()
    {
        await _client.DisposeAsync();
        await Assert.ThrowsAsync<XenstoreException>(() => _client.ReadBytesAsync("/x", new byte[16]).AsTask().Within());
    }
}

/// <summary>
/// A read in steady state allocates nothing, in the client or the daemon: counted over the whole
/// process, so no other test runs beside it.
/// </summary>
[Collection(nameof(AllocationAlone))]
public sealed class ReadAllocationTests
{
    [Fact]
    public async Task Reads_over_a_socket_allocate_nothing_per_read()
    {
        var dir = Directory.CreateTempSubdirectory("mirage-xsalloc-");
        var socket = Path.Combine(dir.FullName, "socket");
        using var server = new XenstoreServer();
        using var stop = new CancellationTokenSource();
        var ready = new TaskCompletionSource();
        var listening = server.ListenAsync(socket, ready.SetResult, stop.Token);
        try
        {
            await ready.Task.Within();
            await using var client = await XenstoreClient.ConnectAsync(socket, Timeouts.Token);
            await client.WriteAsync("/alloc/key", "a-value-of-some-length").Within();
            var buffers = Enumerable.Range(0, 16).Select(_ => new byte[64]).ToArray();
            // Warm: the JIT, the pools, the daemon's path cache.
            await ReadsAsync(client, buffers, 4000);
            const int Reads = 20_000;
            // The count is the whole process's, so the runtime's own work (thread-pool growth under a
            // loaded machine) can land in one round; an allocation per read shows in every round.
            var perRead = double.MaxValue;
            for (var round = 0; round < 3; round++)
            {
                var before = GC.GetTotalAllocatedBytes(precise: true);
                await ReadsAsync(client, buffers, Reads);
                perRead = Math.Min(perRead, (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)Reads);
            }
            // Nothing per read; the bound leaves room for the odd pool growth or timer of the runtime.
            Assert.True(perRead < 4, $"{perRead:F1} bytes allocated per read");
        }
        finally
        {
            await stop.CancelAsync();
            await listening;
            dir.Delete(recursive: true);
        }
    }

    // Reads with up to buffers.Length in flight, each into its own buffer.
    private static async Task ReadsAsync(XenstoreClient client, byte[][] buffers, int count)
    {
        var inFlight = new ValueTask<int>[buffers.Length];
        for (var i = 0; i < count; i++)
        {
            var slot = i % buffers.Length;
            if (i >= buffers.Length && await inFlight[slot] != 22)
                throw new InvalidOperationException("A read returned the wrong length.");
            inFlight[slot] = client.ReadBytesAsync("/alloc/key", buffers[slot]);
        }
        for (var slot = 0; slot < Math.Min(count, buffers.Length); slot++)
            await inFlight[slot];
    }
}

/// <summary>Tests that count the process's allocations, with no other test beside them.</summary>
[CollectionDefinition(nameof(AllocationAlone), DisableParallelization = true)]
public sealed class AllocationAlone;
