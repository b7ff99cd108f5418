namespace Netif;

/// <summary>How <see cref="NetifFactory{TEvents, TMemory}"/> sets up its ends (bound through <c>IOptions&lt;NetifOptions&gt;</c>).</summary>
public sealed class NetifOptions
{
    /// <summary>What each netfront asks for (queues, features, MAC, name).</summary>
    public NetfrontOptions Frontend { get; set; } = new();

    /// <summary>What each netback offers and how it maps (features, name, mapping cache).</summary>
    public NetbackOptions Backend { get; set; } = new();
}
