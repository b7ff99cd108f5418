using Xunit;

namespace TestSupport;

/// <summary>
/// A test that asks the page cache whether writes reached the disk (<see cref="PageCache"/>), in the
/// temporary folder. Skipped, with the reason, where the kernel or that folder cannot tell.
/// </summary>
public sealed class PageCacheFactAttribute : FactAttribute
{
    public PageCacheFactAttribute()
    {
        if (PageCache.CannotTellIn(Path.GetTempPath()) is { } why)
            Skip = "Tells a synced write from a cached one, which " + why + ".";
    }
}
