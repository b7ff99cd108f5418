namespace Xen.InHeap;

/// <summary>Options of <see cref="XenInHeapServiceCollectionExtensions.AddXenInHeap"/>.</summary>
public sealed class XenInHeapOptions
{
    /// <summary>The domain the registered <c>InHeapEvents</c> and <c>InHeapMemory</c> act as. Default 0.</summary>
    public ushort Domain { get; set; }
}
