using Microsoft.Extensions.Logging;

namespace Fbif;

/// <summary>What a framebuffer backend offers and how it guards itself.</summary>
public sealed class FbbackOptions
{
    /// <summary><c>videoram</c> in MiB: a frontend's <c>mem_length</c> past it is refused.</summary>
    public int VideoRamMiB { get; init; } = 2;

    /// <summary>The <c>width</c> the frontend should start with; null publishes none.</summary>
    public int? Width { get; init; }

    /// <summary>The <c>height</c> the frontend should start with; null publishes none.</summary>
    public int? Height { get; init; }

    /// <summary>Whether to follow resize events (<c>feature-resize</c>).</summary>
    public bool FeatureResize { get; init; } = true;

    /// <summary>A name for logs and metrics.</summary>
    public string Name { get; init; } = "vfb";

    /// <summary>Where the backend logs; null logs nothing.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>What a backend with these options publishes (a toolstack that creates the device writes it too).</summary>
    /// <exception cref="InvalidDataException">An option is out of range.</exception>
    public FbifBackendInfo ToBackendInfo()
    {
        var info = new FbifBackendInfo
        {
            VideoRamMiB = VideoRamMiB,
            Width = Width,
            Height = Height,
            FeatureResize = FeatureResize,
            RequestUpdate = true,
        };
        info.Validate();
        return info;
    }
}
