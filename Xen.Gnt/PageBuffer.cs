using System.Buffers;
using System.Runtime.InteropServices;

namespace Xen.Gnt;

/// <summary>
/// A run of whole 4096-byte pages at a fixed, page-aligned address: memory that never moves, so
/// drivers may read and write it through pointers as well as through spans. Shares, mappings and
/// private page buffers are all page buffers; disposing one releases it. A buffer that is not
/// disposed is not freed: its memory may still be in use through a span or a pointer.
/// </summary>
/// <remarks>
/// A read-only buffer hands out only read-only views: <see cref="Span"/> and <see cref="Memory"/>
/// throw. Backends that map real memory also protect it, so a write through the pointer faults.
/// </remarks>
public abstract unsafe class PageBuffer : MemoryManager<byte>
{
    /// <summary>The size of a page, in bytes.</summary>
    public const int PageSize = 4096;

    private readonly byte* _pointer;
    private int _released;

    /// <summary>Wraps <paramref name="pageCount"/> pages at <paramref name="address"/>, which the subclass owns.</summary>
    /// <exception cref="ArgumentException">The address is not page-aligned or the count is not positive.</exception>
    protected PageBuffer(nint address, int pageCount, bool writable)
    {
        if (address == 0 || address % PageSize != 0)
            throw new ArgumentException("Pages must start at a non-null, page-aligned address.", nameof(address));
        if (pageCount <= 0 || pageCount > int.MaxValue / PageSize)
            throw new ArgumentOutOfRangeException(nameof(pageCount), pageCount, "A page buffer holds at least one page and less than 2 GiB.");
        _pointer = (byte*)address;
        PageCount = pageCount;
        Writable = writable;
    }

    /// <summary>How many pages the buffer holds.</summary>
    public int PageCount { get; }

    /// <summary>The buffer's length in bytes: <see cref="PageCount"/> times <see cref="PageSize"/>.</summary>
    public int Length => PageCount * PageSize;

    /// <summary>Whether the buffer may be written.</summary>
    public bool Writable { get; }

    /// <summary>Whether the buffer has been released.</summary>
    public bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <summary>The first byte of the buffer. Valid until the buffer is released.</summary>
    /// <exception cref="ObjectDisposedException">The buffer has been released.</exception>
    public byte* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsReleased, this);
            return _pointer;
        }
    }

    /// <summary>The buffer's address as a number.</summary>
    public nint Address => (nint)Pointer;

    /// <summary>The buffer as a writable span.</summary>
    /// <exception cref="InvalidOperationException">The buffer is read-only.</exception>
    public Span<byte> Span => Writable ? GetSpan() : throw ReadOnly();

    /// <summary>The buffer as a read-only span.</summary>
    public ReadOnlySpan<byte> ReadOnlySpan => GetSpan();

    /// <summary>The buffer as writable memory.</summary>
    /// <exception cref="InvalidOperationException">The buffer is read-only.</exception>
    public override Memory<byte> Memory => Writable ? base.Memory : throw ReadOnly();

    /// <summary>The buffer as read-only memory.</summary>
    public ReadOnlyMemory<byte> ReadOnlyMemory => base.Memory;

    /// <summary>Allocates <paramref name="pageCount"/> private, zeroed, page-aligned pages of this process.</summary>
    public static PageBuffer Allocate(int pageCount) => new NativePages(pageCount);

    /// <inheritdoc />
    public override Span<byte> GetSpan() => new(Pointer, Length);

    /// <inheritdoc />
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        if ((uint)elementIndex > (uint)Length)
            throw new ArgumentOutOfRangeException(nameof(elementIndex));
        // The pages never move: pinning is only a pointer.
        return new MemoryHandle(Pointer + elementIndex);
    }

    /// <inheritdoc />
    public override void Unpin()
    {
    }

    /// <summary>Releases the pages: unmaps a mapping, ends a share, frees a private buffer. Idempotent.</summary>
    public void Dispose() => ((IDisposable)this).Dispose();

    /// <inheritdoc />
    protected sealed override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
            Release(disposing);
    }

    /// <summary>Releases the pages: unmap, unshare or free. Called once.</summary>
    /// <param name="disposing">False when called from a finalizer.</param>
    protected abstract void Release(bool disposing);

    private InvalidOperationException ReadOnly() => new($"This {GetType().Name} is read-only.");

    private sealed class NativePages : PageBuffer
    {
        public NativePages(int pageCount) : base(AllocateAligned(pageCount), pageCount, writable: true)
        {
        }

        private static nint AllocateAligned(int pageCount)
        {
            if (pageCount <= 0 || pageCount > int.MaxValue / PageSize)
                throw new ArgumentOutOfRangeException(nameof(pageCount));
            var bytes = (nuint)pageCount * PageSize;
            var p = NativeMemory.AlignedAlloc(bytes, PageSize);
            NativeMemory.Clear(p, bytes);
            return (nint)p;
        }

        protected override void Release(bool disposing)
        {
            NativeMemory.AlignedFree(BaseAddress);
        }
    }

    /// <summary>The first byte, without the released check: for a subclass's <see cref="Release"/>.</summary>
    protected byte* BaseAddress => _pointer;
}
