namespace Xen.Store.Server;

/// <summary>The daemon's limits (<see cref="XenstoreServerOptions"/>) that a peer can run into.</summary>
internal enum Quota
{
    /// <summary>Nodes an unprivileged domain owns.</summary>
    Nodes,
    /// <summary>Watches one connection holds.</summary>
    Watches,
    /// <summary>Transactions one connection holds open.</summary>
    Transactions,
    /// <summary>Replies and events waiting for a peer that does not read.</summary>
    Output,
}

/// <summary>A request refused because a <see cref="Server.Quota"/> is spent; answered with its error like any other.</summary>
internal sealed class QuotaException(Quota quota, XsError error, string message) : XenstoreException(error, message)
{
    public Quota Quota { get; } = quota;
}

/// <summary>A request that breaks the protocol (bad arguments, a bad path); answered with its error, logged with what was wrong.</summary>
internal sealed class MalformedRequestException(XsError error, string what) : XenstoreException(error, "Malformed request: " + what + ".")
{
    public string What { get; } = what;
}
