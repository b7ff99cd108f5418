using Consumer;

// One program, two domains. Domain 1 runs here; domain 2 runs in a second process of this program
// (`Consumer peer`) or, when the backend lives in one process (in-heap), in a task of this one.
// XenBackend, XenDomain, XenEvents and XenMemory are global using aliases that the selected backend
// package defines: nothing in this sample names a backend.
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
try
{
    return await RunAsync(Options.Parse(args), timeout.Token);
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    // A backend that cannot run here (xenctrl outside Xen) says what to do: print that, not a trace.
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
{
    if (options.IsPeer)
    {
        // The second process: domain 2, told where to find domain 1's pages and ports on stdin.
        using var domain2 = await Domain.OpenAsync(options.Domain, options.PeerDomain, cancellationToken);
        await Domain2.RunAsync(domain2, Console.In, Console.Out, cancellationToken);
        return 0;
    }

    Console.WriteLine($"backend: {XenBackend.Name}, {(XenBackend.CrossProcess ? "domain 2 in a second process" : "both domains in this process")}");
    using var domain1 = await Domain.OpenAsync(options.Domain, options.PeerDomain, cancellationToken);
    await using (var peer = XenBackend.CrossProcess
        ? PeerLink.StartProcess(options.PeerArguments())
        : PeerLink.StartTask(options.PeerDomain, options.Domain, cancellationToken))
    {
        await Domain1.RunAsync(domain1, peer, cancellationToken);
    }
    Console.WriteLine("done");
    return 0;
}
