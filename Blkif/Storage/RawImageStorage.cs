using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Blkif.Storage;

/// <summary>
/// A disk backed by a raw image file: sector <c>n</c> is bytes <c>n * SectorSize</c> onwards of the
/// file. Reads and writes are <c>preadv</c>/<c>pwritev</c> straight from and into the caller's
/// buffers (the frontend's granted pages), a flush is <c>fdatasync</c>, a discard punches a hole
/// (<c>fallocate(PUNCH_HOLE | KEEP_SIZE)</c>). Thread-safe, as the system calls are.
/// </summary>
public sealed unsafe class RawImageStorage : IBlockStorage
{
    // Linux's IOV_MAX: one preadv takes at most this many vectors.
    private const int MaxVectors = 1024;

    private readonly SafeFileHandle _file;

    private RawImageStorage(SafeFileHandle file, long length, int sectorSize, bool readOnly, bool canDiscard)
    {
        _file = file;
        Length = length;
        SectorSize = sectorSize;
        IsReadOnly = readOnly;
        CanDiscard = canDiscard && !readOnly;
    }

    /// <summary>
    /// Opens the image at <paramref name="path"/>. Its size, rounded down to whole sectors, is the disk's size.
    /// </summary>
    /// <param name="path">The image file; it must exist and hold at least one sector.</param>
    /// <param name="readOnly">Open it read-only: the backend refuses writes and discards.</param>
    /// <param name="sectorSize">The logical sector size: 512 or 4096.</param>
    /// <param name="canDiscard">Whether to offer discard (hole punching).</param>
    /// <exception cref="IOException">The file cannot be opened or is smaller than one sector.</exception>
    public static RawImageStorage Open(string path, bool readOnly = false, int sectorSize = 512, bool canDiscard = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        StorageChecks.SectorSize(sectorSize);
        var file = File.OpenHandle(path, FileMode.Open, readOnly ? FileAccess.Read : FileAccess.ReadWrite, FileShare.ReadWrite);
        try
        {
            var length = RandomAccess.GetLength(file) / sectorSize * sectorSize;
            if (length == 0)
                throw new IOException($"The image '{path}' is smaller than one {sectorSize}-byte sector.");
            return new RawImageStorage(file, length, sectorSize, readOnly, canDiscard);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public long Length { get; }

    /// <inheritdoc />
    public int SectorSize { get; }

    /// <inheritdoc />
    public int PhysicalSectorSize => SectorSize;

    /// <inheritdoc />
    public bool IsReadOnly { get; }

    /// <inheritdoc />
    public bool CanDiscard { get; }

    /// <summary>A page: file systems punch holes in whole blocks and zero the rest.</summary>
    public int DiscardGranularity => Math.Max(SectorSize, 4096);

    /// <inheritdoc />
    public void Read(long offset, ReadOnlySpan<Memory<byte>> buffers)
    {
        ObjectDisposedException.ThrowIf(_file.IsClosed, this);
        TransferVectored(offset, buffers, write: false);
    }

    /// <inheritdoc />
    public void Write(long offset, ReadOnlySpan<ReadOnlyMemory<byte>> buffers)
    {
        ObjectDisposedException.ThrowIf(_file.IsClosed, this);
        StorageChecks.Writable(IsReadOnly);
        // ReadOnlyMemory<T> and Memory<T> share one layout (MemoryMarshal.AsMemory relies on it too),
        // and a write only reads the buffers: one pinning path serves both directions.
        var writable = MemoryMarshal.CreateReadOnlySpan(
            ref Unsafe.As<ReadOnlyMemory<byte>, Memory<byte>>(ref MemoryMarshal.GetReference(buffers)), buffers.Length);
        TransferVectored(offset, writable, write: true);
    }

    // Pins the buffers, checks the range, and moves them with one system call. A request's few
    // buffers (a ring request has at most 11 segments) are pinned on the stack; only an indirect
    // request's many take arrays from the pool.
    private void TransferVectored(long offset, ReadOnlySpan<Memory<byte>> buffers, bool write)
    {
        if (buffers.Length <= StackVectors)
        {
            var handles = default(HandleArray);
            var vectors = default(VectorArray);
            TransferPinned(offset, buffers, ((Span<MemoryHandle>)handles)[..buffers.Length], ((Span<Interop.Libc.iovec>)vectors)[..buffers.Length], write);
            return;
        }
        var pooledHandles = ArrayPool<MemoryHandle>.Shared.Rent(buffers.Length);
        var pooledVectors = ArrayPool<Interop.Libc.iovec>.Shared.Rent(buffers.Length);
        try
        {
            TransferPinned(offset, buffers, pooledHandles.AsSpan(0, buffers.Length), pooledVectors.AsSpan(0, buffers.Length), write);
        }
        finally
        {
            ArrayPool<MemoryHandle>.Shared.Return(pooledHandles, clearArray: true);
            ArrayPool<Interop.Libc.iovec>.Shared.Return(pooledVectors);
        }
    }

    private void TransferPinned(long offset, ReadOnlySpan<Memory<byte>> buffers, Span<MemoryHandle> handles, Span<Interop.Libc.iovec> vectors, bool write)
    {
        var pinned = 0;
        try
        {
            long total = 0;
            for (; pinned < buffers.Length; pinned++)
            {
                handles[pinned] = buffers[pinned].Pin();
                vectors[pinned] = new Interop.Libc.iovec { iov_base = handles[pinned].Pointer, iov_len = (nuint)buffers[pinned].Length };
                total += buffers[pinned].Length;
            }
            StorageChecks.Range(offset, total, Length);
            Transfer(offset, vectors, write);
        }
        finally
        {
            for (var i = 0; i < pinned; i++)
                handles[i].Dispose();
        }
    }

    private const int StackVectors = BlkifConstants.MaxSegmentsPerRequest;

    [InlineArray(StackVectors)]
    private struct HandleArray
    {
        private MemoryHandle _first;
    }

    [InlineArray(StackVectors)]
    private struct VectorArray
    {
        private Interop.Libc.iovec _first;
    }

    /// <summary><c>fdatasync</c>: the data written so far, and the metadata needed to read it, reach the disk.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_file.IsClosed, this);
        while (Interop.Libc.FDataSync(_file) != 0)
        {
            if (Interop.Errno.Last != Interop.Errno.EINTR)
                throw Interop.Errno.Fail("fdatasync of the image");
        }
    }

    /// <summary>Punches a hole: the range reads as zeros and, where it covers whole blocks, stops taking space.</summary>
    public void Discard(long offset, long length)
    {
        ObjectDisposedException.ThrowIf(_file.IsClosed, this);
        StorageChecks.Writable(IsReadOnly);
        if (!CanDiscard)
            throw new NotSupportedException("This image was opened without discard.");
        StorageChecks.Range(offset, length, Length);
        if (length == 0)
            return;
        while (Interop.Libc.FAllocate(_file, Interop.Libc.FALLOC_FL_PUNCH_HOLE | Interop.Libc.FALLOC_FL_KEEP_SIZE, offset, length) != 0)
        {
            if (Interop.Errno.Last != Interop.Errno.EINTR)
                throw Interop.Errno.Fail("Punching a hole in the image");
        }
    }

    /// <summary>Closes the image.</summary>
    public void Dispose() => _file.Dispose();

    // preadv/pwritev over the vectors, IOV_MAX at a time, resuming after a short transfer; one
    // vector (a 4 KiB request) goes by plain pread/pwrite, which spares the kernel copying the
    // vector in. The vectors are ours (built from pinned buffers), so they may be advanced in place.
    private void Transfer(long offset, Span<Interop.Libc.iovec> vectors, bool write)
    {
        while (!vectors.IsEmpty && vectors[0].iov_len == 0)
            vectors = vectors[1..];
        while (!vectors.IsEmpty)
        {
            var n = Math.Min(vectors.Length, MaxVectors);
            nint done;
            fixed (Interop.Libc.iovec* v = vectors)
                done = n == 1
                    ? write ? Interop.Libc.PWrite(_file, (byte*)v->iov_base, v->iov_len, offset) : Interop.Libc.PRead(_file, (byte*)v->iov_base, v->iov_len, offset)
                    : write ? Interop.Libc.PWriteV(_file, v, n, offset) : Interop.Libc.PReadV(_file, v, n, offset);
            if (done < 0)
            {
                if (Interop.Errno.Last == Interop.Errno.EINTR)
                    continue;
                throw Interop.Errno.Fail(write ? "pwritev to the image" : "preadv from the image");
            }
            if (done == 0)
                throw new IOException($"The image ended at offset {offset}: was it truncated while in use?");
            offset += done;
            var left = (nuint)done;
            while (!vectors.IsEmpty && left >= vectors[0].iov_len)
            {
                left -= vectors[0].iov_len;
                vectors = vectors[1..];
            }
            if (left > 0)
            {
                vectors[0].iov_base = (byte*)vectors[0].iov_base + left;
                vectors[0].iov_len -= left;
            }
        }
    }
}
