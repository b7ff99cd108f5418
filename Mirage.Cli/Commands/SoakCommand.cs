using System.CommandLine;

namespace Mirage.Cli.Commands;

/// <summary>
/// <c>mirage soak</c>: vchan, netif, blkif and Xenstore traffic between processes over the Unix
/// backends while, at seeded random times, one party is killed with SIGKILL and restarted. Every
/// acknowledged byte, frame, block write and Xenstore write is accounted for (<see cref="SoakLedger"/>);
/// the run fails if any was lost or changed, or if a party did not notice its peer's death in time.
/// See docs/soak.md.
/// </summary>
internal static class SoakCommand
{
    public static Command Create()
    {
        var minutes = new Option<double>("--minutes") { Description = "How long the traffic runs, in minutes.", DefaultValueFactory = _ => 1 };
        var seconds = new Option<double?>("--seconds") { Description = "How long the traffic runs, in seconds (instead of --minutes)." };
        var seed = new Option<int?>("--seed") { Description = "Seeds the choice of when to kill whom (default: random, printed)." };
        var noticeBound = new Option<double>("--notice-bound")
        {
            Description = "Seconds within which a party must notice that its peer was killed.",
            DefaultValueFactory = _ => 5,
        };
        var fault = new Option<string[]>("--fault")
        {
            // For the soak's own tests: the first generation of a pair fakes one acknowledgement, to show that the books catch it.
            Hidden = true,
            Arity = ArgumentArity.ZeroOrMore,
        };
        var peer = new Option<string?>("--peer") { Hidden = true };
        var command = new Command("soak",
            "Run vchan, netif, blkif and Xenstore traffic between processes over the Unix backends, kill (SIGKILL) and restart a party "
            + "every few seconds, and account for everything acknowledged: exit 0 only if nothing acknowledged was lost or changed and "
            + "every death was noticed within --notice-bound. Prints progress every 10 s. See docs/soak.md.")
        {
            minutes, seconds, seed, noticeBound, fault, peer,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(peer) is { } role)
                return await SoakPeers.RunAsync(role, cancellationToken).ConfigureAwait(false);
            if (!OperatingSystem.IsLinux())
            {
                Console.Error.WriteLine("soak: the Unix backends need Linux.");
                return 2;
            }
            var duration = TimeSpan.FromSeconds(parse.GetValue(seconds) ?? parse.GetValue(minutes) * 60);
            if (duration <= TimeSpan.Zero || duration > TimeSpan.FromDays(7) || parse.GetValue(noticeBound) <= 0)
            {
                Console.Error.WriteLine("soak: --minutes or --seconds is a positive time of at most a week; --notice-bound a positive number of seconds.");
                return 2;
            }
            if ((parse.GetValue(fault) ?? []).FirstOrDefault(f => f is not ("vchan" or "netif" or "blkif" or "xenstore")) is { } unknown)
            {
                Console.Error.WriteLine($"soak: --fault {unknown}: vchan, netif, blkif or xenstore.");
                return 2;
            }
            var run = new SoakRun(duration, parse.GetValue(seed) ?? Random.Shared.Next(), TimeSpan.FromSeconds(parse.GetValue(noticeBound)),
                [.. parse.GetValue(fault) ?? []]);
            using var stop = StopSignals.Link(cancellationToken);
            return await run.RunAsync(stop.Token).ConfigureAwait(false);
        });
        return command;
    }
}
