using Microsoft.Extensions.Logging;

namespace Fbif;

/// <summary>How a framebuffer frontend sizes itself when the backend does not say.</summary>
public sealed class FbfrontOptions
{
    /// <summary>The width when the backend publishes none (Linux's default is 800).</summary>
    public int Width { get; init; } = 800;

    /// <summary>The height when the backend publishes none (Linux's default is 600).</summary>
    public int Height { get; init; } = 600;

    /// <summary>The framebuffer memory wanted, in MiB; the backend's <c>videoram</c> caps it.</summary>
    public int VideoRamMiB { get; init; } = 2;

    /// <summary>Where the frontend logs; null logs nothing.</summary>
    public ILogger? Logger { get; init; }
}
