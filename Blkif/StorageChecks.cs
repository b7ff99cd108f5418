namespace Blkif;

// Argument checks the storages share: the backend validates requests first, so a failure here is a
// bug or a direct caller's mistake, and must never become an access outside the disk.
internal static class StorageChecks
{
    public static void SectorSize(int sectorSize)
    {
        if (sectorSize is not (512 or 4096))
            throw new ArgumentOutOfRangeException(nameof(sectorSize), sectorSize, "The logical sector size must be 512 or 4096 bytes.");
    }

    public static void Range(long offset, long length, long diskLength)
    {
        if (offset < 0 || length < 0 || offset > diskLength || length > diskLength - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"{length} bytes at offset {offset} lie outside the {diskLength}-byte disk.");
    }

    public static void Writable(bool readOnly)
    {
        if (readOnly)
            throw new IOException("The disk is read-only.");
    }
}
