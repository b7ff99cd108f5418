using Xen.Store.Server;

namespace Xen.Store.Tests;

public class ConcurrencyTests
{
    [Fact]
    public async Task Fifty_clients_doing_a_thousand_operations_each_lose_no_update()
    {
        const int Clients = 50, Operations = 1000, IncrementEvery = 25;
        using var server = new XenstoreServer();
        var setup = XenstoreClient.Connect(server.Connect());
        await setup.WriteAsync("/counter", "0");
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var increments = 0;
        var written = new Dictionary<string, string>[Clients];
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            await using var client = XenstoreClient.Connect(server.Connect());
            var mine = written[c] = [];
            string? lastKey = null;
            for (var i = 0; i < Operations; i++)
            {
                if (i % IncrementEvery == 0)
                {
                    // Read-modify-write of a shared node: only a transaction makes it safe.
                    await client.TransactionAsync(async tx =>
                    {
                        var n = int.Parse(await tx.ReadAsync("/counter", cts.Token));
                        await tx.WriteAsync("/counter", (n + 1).ToString(), cts.Token);
                    }, cts.Token);
                    Interlocked.Increment(ref increments);
                    lastKey = null;
                }
                else if (lastKey is not null)
                {
                    Assert.Equal(mine[lastKey], await client.ReadAsync(lastKey, cts.Token));
                    lastKey = null;
                }
                else
                {
                    lastKey = $"/clients/{c}/{i % 10}";
                    mine[lastKey] = i.ToString();
                    await client.WriteAsync(lastKey, mine[lastKey], cts.Token);
                }
            }
        }, cts.Token)));
        Assert.Equal(Clients * Operations / IncrementEvery, increments);
        Assert.Equal(increments.ToString(), await setup.ReadAsync("/counter"));
        foreach (var (key, value) in written.SelectMany(w => w))
            Assert.Equal(value, await setup.ReadAsync(key));
        await setup.DisposeAsync();
    }
}
