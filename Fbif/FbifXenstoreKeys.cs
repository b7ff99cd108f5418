using System.Globalization;
using Xen.Evtchn;

namespace Fbif;

/// <summary>
/// The Xenstore keys of a virtual framebuffer, as Linux's xen-fbfront and QEMU's backend use them
/// (<c>fbif.h</c> names none): the backend's <c>videoram</c>, <c>width</c>, <c>height</c>,
/// <c>feature-resize</c>, <c>request-update</c>; the frontend's <c>page-ref</c>, <c>event-channel</c>,
/// <c>protocol</c>, <c>feature-update</c>.
/// </summary>
public static class FbifXenstoreKeys
{
    /// <summary>The backend's keys for <paramref name="info"/>.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Backend(FbifBackendInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var keys = new List<KeyValuePair<string, string>>
        {
            new("videoram", Number((ulong)info.VideoRamMiB)),
            new("feature-resize", Flag(info.FeatureResize)),
            new("request-update", Flag(info.RequestUpdate)),
        };
        if (info.Width is { } width)
            keys.Add(new("width", Number((ulong)width)));
        if (info.Height is { } height)
            keys.Add(new("height", Number((ulong)height)));
        return keys;
    }

    /// <summary>Reads what a backend published; <paramref name="read"/> gives a key's value or null.</summary>
    /// <exception cref="InvalidDataException">A value is malformed or out of range.</exception>
    public static FbifBackendInfo ParseBackend(Func<string, string?> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        var info = new FbifBackendInfo
        {
            VideoRamMiB = (int)Number(read, "videoram", 2, 512),
            Width = read("width") is null ? null : (int)Number(read, "width", 0, int.MaxValue),
            Height = read("height") is null ? null : (int)Number(read, "height", 0, int.MaxValue),
            FeatureResize = Flag(read, "feature-resize"),
            RequestUpdate = Flag(read, "request-update"),
        };
        info.Validate();
        return info;
    }

    /// <summary>The frontend's keys for <paramref name="info"/>.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Frontend(FbifFrontendInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        return
        [
            new("page-ref", Number(info.PageRef)),
            new("event-channel", info.EventChannel.ToString()),
            new("protocol", info.Protocol),
            new("feature-update", Flag(info.FeatureUpdate)),
        ];
    }

    /// <summary>Reads what a frontend published.</summary>
    /// <exception cref="InvalidDataException">A key is missing or malformed.</exception>
    public static FbifFrontendInfo ParseFrontend(Func<string, string?> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        var info = new FbifFrontendInfo(
            Required(read, "page-ref", ulong.MaxValue),
            new Port((uint)Required(read, "event-channel", uint.MaxValue)),
            read("protocol") ?? FbifConstants.ProtocolX86_64,
            Flag(read, "feature-update"));
        info.Validate();
        return info;
    }

    internal static string Number(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    internal static string Flag(bool value) => value ? "1" : "0";

    internal static ulong Number(Func<string, string?> read, string key, ulong fallback, ulong max)
    {
        var text = read(key);
        if (text is null)
            return fallback;
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > max)
            throw new InvalidDataException($"The key '{key}' holds '{text}', not a number from 0 to {max}.");
        return value;
    }

    internal static ulong Required(Func<string, string?> read, string key, ulong max) =>
        read(key) is null ? throw new InvalidDataException($"The key '{key}' is missing.") : Number(read, key, 0, max);

    internal static bool Flag(Func<string, string?> read, string key) => Number(read, key, 0, 1) == 1;
}
