using System.Globalization;
using System.Text;
using Xen.Store;

namespace Xen.Store.Server;

/// <summary>
/// <c>XS_CONTROL</c>: the daemon's own commands (docs/misc/xenstore.txt, "CONTROL"), of which this server
/// has <c>restrict</c> (a socket connection acts as a domain from then on) and <c>quota</c>, as
/// Xen 4.17's <c>xenstore-control quota</c> sends it.
/// </summary>
public sealed partial class XenstoreServer
{
    private void Control(ServerConnection c, XsWireHeader request, Caller caller, ReadOnlySpan<byte> payload)
    {
        var args = Strings(payload, 1, exact: false);
        switch (args[0])
        {
            case "restrict" when args.Length >= 2:
                // The socket's way to act as a domain: dom0 lowers this connection to domain N for good.
                RequirePrivileged(caller, "restrict");
                if (c.Transactions.Count > 0)
                    throw new XenstoreException(XsError.EBUSY, "Close the transactions before restricting.");
                c.Domain = DomainArg(args[1]);
                Log.ActsAs(_logger, c.Id, c.Domain);
                Reply(c, request, request.Type, Ok);
                break;
            case "quota":
                RequirePrivileged(caller, "quota");
                Reply(c, request, request.Type, QuotaCommand(args.AsSpan(1)));
                break;
            case "help":
                Reply(c, request, request.Type, "restrict\t<domid>\nquota\t[set <name> <val>|<domid>]\nhelp\t\n\0"u8);
                break;
            default:
                throw Invalid($"unknown control command '{args[0]}'");
        }
    }

    /// <summary>
    /// <c>quota</c> lists the limits, <c>quota set &lt;name&gt; &lt;val&gt;</c> changes one (for what comes
    /// next: what a domain already holds stays), <c>quota &lt;domid&gt;</c> shows what a domain holds. The
    /// lines are laid out as Xen's C daemon lays them out; its nodes quota is per domain as here, its
    /// watches and transactions quotas per domain where this server's are per connection (docs/xenstore.md).
    /// </summary>
    private byte[] QuotaCommand(ReadOnlySpan<string> args)
    {
        var text = new StringBuilder();
        switch (args)
        {
            case []:
                text.Append("Quota settings:\n");
                foreach (var (name, value, meaning) in QuotaSettings())
                    text.Append(CultureInfo.InvariantCulture, $"{name,-17}: {value,8} {meaning}\n");
                break;
            case ["set", var name, var value]:
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var limit))
                    throw Invalid($"quota {name}: '{value}' is not a number");
                switch (name)
                {
                    case "nodes": _store.MaxNodesPerDomain = limit; break;
                    case "watches": _watchesPerConnection = limit; break;
                    case "transactions": _transactionsPerConnection = limit; break;
                    default: throw Invalid($"no quota named '{name}'");
                }
                return Ok;
            case [var domainText]:
            {
                var domain = DomainArg(domainText);
                var held = _connections.Where(o => o.Domain == domain).ToList();
                if (domain != 0 && !_introduced.Contains(domain) && held.Count == 0)
                    throw new XenstoreException(XsError.ENOENT, $"Domain {domain} is not known here.");
                text.Append(CultureInfo.InvariantCulture, $"Domain {domain}:\n");
                text.Append(CultureInfo.InvariantCulture, $"{"nodes",-16}: {_store.Owned(domain),8}\n");
                text.Append(CultureInfo.InvariantCulture, $"{"watches",-16}: {held.Sum(o => o.WatchCount),8}\n");
                text.Append(CultureInfo.InvariantCulture, $"{"transactions",-16}: {held.Sum(o => o.Transactions.Count),8}\n");
                break;
            }
            default:
                throw Invalid("quota takes nothing, 'set <name> <value>' or a domain id");
        }
        return Encoding.ASCII.GetBytes(text.Append('\0').ToString());
    }

    private IEnumerable<(string Name, int Value, string Meaning)> QuotaSettings() =>
    [
        ("nodes", _store.MaxNodesPerDomain, "Nodes per domain"),
        ("watches", _watchesPerConnection, "Watches per connection"),
        ("transactions", _transactionsPerConnection, "Transactions per connection"),
    ];
}
