namespace Blkif;

/// <summary>How <see cref="BlkifFactory{TEvents, TMemory}"/> sets up its ends (bound through <c>IOptions&lt;BlkifOptions&gt;</c>).</summary>
public sealed class BlkifOptions
{
    /// <summary>What each blkfront asks for (ring size, queues, segments per request, spinning).</summary>
    public BlkfrontOptions Frontend { get; set; } = new();

    /// <summary>What each blkback offers beyond its storage (ring size, queues, indirect segments, persistent grants, features).</summary>
    public BlkbackOptions Backend { get; set; } = new();

    /// <summary>How long a frontend's close through Xenstore waits for the backend to follow. Default 10 seconds.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
