namespace Fbif;

/// <summary>
/// What a framebuffer backend publishes under <c>backend/vfb/&lt;frontend&gt;/&lt;device&gt;/</c> before the
/// frontend connects. Linux's xen-fbfront reads <c>videoram</c>, <c>width</c> and <c>height</c> when it
/// probes, and <c>request-update</c> and <c>feature-resize</c> once the backend is connected.
/// </summary>
public sealed record FbifBackendInfo
{
    /// <summary><c>videoram</c>: the most framebuffer memory the frontend may use, in MiB.</summary>
    public int VideoRamMiB { get; init; } = 2;

    /// <summary><c>width</c>: the width the frontend should start with; null publishes none.</summary>
    public int? Width { get; init; }

    /// <summary><c>height</c>: the height the frontend should start with; null publishes none.</summary>
    public int? Height { get; init; }

    /// <summary><c>feature-resize</c>: the backend follows resize events.</summary>
    public bool FeatureResize { get; init; } = true;

    /// <summary><c>request-update</c>: the backend wants update events.</summary>
    public bool RequestUpdate { get; init; } = true;

    /// <summary>The framebuffer memory allowed, in bytes.</summary>
    public long VideoRamBytes => (long)VideoRamMiB * FbifConstants.MiB;

    /// <summary>Checks what a (possibly hostile) backend published, or a backend's own options.</summary>
    /// <exception cref="InvalidDataException">A value is out of range.</exception>
    public void Validate()
    {
        // pd[] reaches 256 directory pages of 512 frames: 512 MiB.
        if (VideoRamMiB is < 1 or > 512)
            throw new InvalidDataException($"videoram {VideoRamMiB} MiB is not 1 to 512.");
        if (Width is <= 0 || Height is <= 0)
            throw new InvalidDataException($"width {Width} or height {Height} is not positive.");
    }
}
