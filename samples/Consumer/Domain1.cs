namespace Consumer;

/// <summary>Domain 1: offers each thing to domain 2 and reports what came back.</summary>
internal static class Domain1
{
    public static async Task RunAsync(Domain domain, PeerLink peer, CancellationToken cancellationToken)
    {
        await GrantAndEvent.OfferAsync(domain, peer, cancellationToken);
        await VchanStep.OfferAsync(domain, peer, cancellationToken);
        await NetifStep.OfferAsync(domain, peer, cancellationToken);
    }
}
