using Xen.Unix;

namespace Xen.Gnt.Unix;

/// <summary>One page file this process holds open (and locked shared) for a share or a mapping.</summary>
internal sealed class GrantedPage(GrantRef grant, string path, SafeFd fd, GrantMetadata metadata)
{
    public GrantRef Ref { get; } = grant;

    public string Path { get; } = path;

    public SafeFd Fd { get; } = fd;

    public GrantMetadata Metadata { get; } = metadata;

    public string MetadataPath => Path + GrantFiles.MetadataSuffix;

    /// <summary>Lets go of the page and closes it; the last process to do so removes its files.</summary>
    public void Release() => DyingGranter.Release(Fd, Path, Metadata.GranterPid);
}
