using System.Globalization;
using Xen.Evtchn;
using Xen.Gnt;

namespace Kbdif;

/// <summary>The Xenstore keys of <c>kbdif.h</c> ("Backend XenBus Nodes", "Frontend XenBus Nodes").</summary>
public static class KbdifXenstoreKeys
{
    /// <summary>The backend's keys.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Backend(KbdifBackendInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        return
        [
            new("feature-abs-pointer", info.FeatureAbsPointer ? "1" : "0"),
            new("width", Number((ulong)info.Width)),
            new("height", Number((ulong)info.Height)),
        ];
    }

    /// <summary>Reads what a backend published.</summary>
    /// <exception cref="InvalidDataException">A value is malformed.</exception>
    public static KbdifBackendInfo ParseBackend(Func<string, string?> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        return new KbdifBackendInfo(Number(read, "feature-abs-pointer", 0, 1) == 1,
            (int)Number(read, "width", 800, int.MaxValue), (int)Number(read, "height", 600, int.MaxValue));
    }

    /// <summary>The frontend's keys.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Frontend(KbdifFrontendInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var keys = new List<KeyValuePair<string, string>>
        {
            new("event-channel", info.EventChannel.ToString()),
            new("request-abs-pointer", info.RequestAbsPointer ? "1" : "0"),
        };
        if (info.PageGref is { } gref)
            keys.Add(new("page-gref", gref.ToString()));
        if (info.PageRef is { } frame)
            keys.Add(new("page-ref", Number(frame)));
        return keys;
    }

    /// <summary>Reads what a frontend published.</summary>
    /// <exception cref="InvalidDataException">A key is missing or malformed, or neither page key is given.</exception>
    public static KbdifFrontendInfo ParseFrontend(Func<string, string?> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        GrantRef? gref = read("page-gref") is null ? null : new GrantRef((uint)Number(read, "page-gref", 0, uint.MaxValue));
        ulong? frame = read("page-ref") is null ? null : Number(read, "page-ref", 0, ulong.MaxValue);
        if (gref is null && frame is null)
            throw new InvalidDataException("The frontend published neither 'page-gref' nor 'page-ref'.");
        if (read("event-channel") is null)
            throw new InvalidDataException("The key 'event-channel' is missing.");
        return new KbdifFrontendInfo(gref, frame, new Port((uint)Number(read, "event-channel", 0, uint.MaxValue)), Number(read, "request-abs-pointer", 0, 1) == 1);
    }

    private static string Number(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    private static ulong Number(Func<string, string?> read, string key, ulong fallback, ulong max)
    {
        var text = read(key);
        if (text is null)
            return fallback;
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > max)
            throw new InvalidDataException($"The key '{key}' holds '{text}', not a number from 0 to {max}.");
        return value;
    }
}
