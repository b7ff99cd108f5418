using System.Globalization;

namespace Consumer;

/// <summary>The command line: <c>[peer] [--domain N] [--peer-domain M]</c>.</summary>
/// <remarks>The default domains are 1 (this process) and 2 (the peer). In a real Xen domain with the
/// xenctrl backend, pass the ids of the domains the two processes run in (0 and 0 in dom0).</remarks>
internal sealed record Options(bool IsPeer, ushort Domain, ushort PeerDomain)
{
    public static Options Parse(string[] args)
    {
        var isPeer = args.Length > 0 && args[0] == "peer";
        ushort? domain = null, peerDomain = null;
        for (var i = isPeer ? 1 : 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--domain" when i + 1 < args.Length:
                    domain = ushort.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--peer-domain" when i + 1 < args.Length:
                    peerDomain = ushort.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'. Usage: Consumer [peer] [--domain N] [--peer-domain M]");
            }
        }
        return isPeer
            ? new Options(true, domain ?? 2, peerDomain ?? 1)
            : new Options(false, domain ?? 1, peerDomain ?? 2);
    }

    /// <summary>The arguments that start the peer: its domain is our peer, its peer is us.</summary>
    public string[] PeerArguments() =>
        ["peer", "--domain", PeerDomain.ToString(CultureInfo.InvariantCulture), "--peer-domain", Domain.ToString(CultureInfo.InvariantCulture)];
}
