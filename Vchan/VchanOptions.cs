namespace Vchan;

/// <summary>How <see cref="VchanFactory{TEvents, TMemory}"/> opens vchans (bound through <c>IOptions&lt;VchanOptions&gt;</c>).</summary>
public sealed class VchanOptions
{
    /// <summary>For a server: the least bytes the left ring (client to server) holds, 0 to 1 MiB; libxenvchan rounds up. Default 0: the smallest.</summary>
    public int LeftMin { get; set; }

    /// <summary>For a server: the least bytes the right ring (server to client) holds, 0 to 1 MiB. Default 0: the smallest.</summary>
    public int RightMin { get; set; }

    /// <summary>For a client that finds its server through Xenstore: how long to wait for the server to publish the vchan. Default 30 seconds.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a read or write spins before it blocks (<see cref="VchanEndpoint.SpinTime"/>); null keeps the endpoint's default.</summary>
    public TimeSpan? SpinTime { get; set; }
}
