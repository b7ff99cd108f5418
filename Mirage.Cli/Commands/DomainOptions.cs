using System.CommandLine;
using System.Globalization;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;
using Xen.Unix;
using Xen.Xenctrl;

namespace Mirage.Cli.Commands;

/// <summary>What a command runs in the domain it opened, over whichever backend was chosen.</summary>
internal interface IDomainProgram
{
    /// <summary>Runs with the domain's halves as structs (so the drivers are specialised) and its Xenstore connection.</summary>
    Task<int> RunAsync<TEvents, TMemory>(DomainSession<TEvents, TMemory> domain, CancellationToken cancellationToken)
        where TEvents : IEvents
        where TMemory : IMemory;
}

/// <summary>
/// What the toolstack does for a domain before it runs (directories, devices in Xenstore): a
/// program that needs it implements this as well, and it runs first on a dom0 connection of its own.
/// </summary>
internal interface IToolstackStep
{
    /// <summary>Whether the step runs with <paramref name="unix"/> (processes play domains, and so their toolstack) or xenctrl.</summary>
    bool RunsWith(bool unix);

    Task RunAsync(XenstoreClient dom0, ushort domain, CancellationToken cancellationToken);
}

/// <summary>An opened domain as a command sees it.</summary>
internal sealed class DomainSession<TEvents, TMemory>(TEvents events, TMemory memory, XenstoreClient store, Func<IForeignFrames>? frames = null)
    where TEvents : IEvents
    where TMemory : IMemory
{
    private IForeignFrames? _frames;

    /// <summary>Memory by frame number, opened on first use (xenctrl opens /dev/xen/privcmd then).</summary>
    public IForeignFrames Frames => _frames ??= (frames ?? throw new InvalidOperationException("This domain has no frames."))();

    public TEvents Events { get; } = events;

    public TMemory Memory { get; } = memory;

    public ushort Id => Events.LocalDomain;

    /// <summary>Xenstore, acting as this domain.</summary>
    public XenstoreClient Store { get; } = store;
}

/// <summary>
/// The options every command that opens a domain shares, with the same names everywhere:
/// <c>--backend unix|xenctrl</c>, <c>--domain</c>, <c>--root</c>, <c>--xenstore</c>; and opening the
/// domain the way a package user does (<see cref="UnixDomain"/>, <see cref="XenctrlDomain"/>).
/// </summary>
internal sealed class DomainOptions
{
    public const string XenstoreHelp =
        "Xenstore is found at --xenstore, else $XENSTORED_PATH, else $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket "
        + "(run `mirage xenstored` for the unix backend, whose socket connection then claims this process's domain); "
        + "with xenctrl in a guest without that socket, /dev/xen/xenbus. The unix backend's root is --root, else $XEN_ROOT, "
        + "else /dev/shm/mirage-xen-<uid>.";

    private readonly ushort? _unixDefault;

    public Option<string> Backend { get; } = new Option<string>("--backend")
    {
        Description = "Event channels and grants: unix (processes on this host act as domains, see docs/unix-backend.md) or xenctrl (a real Xen domain, see docs/xenctrl-backend.md).",
        DefaultValueFactory = _ => "unix",
    }.AcceptOnlyFromAmong("unix", "xenctrl");

    public Option<ushort?> Domain { get; }

    public Option<string?> Root { get; } = new("--root")
    {
        Description = "unix backend: the folder shared by the processes (default $XEN_ROOT, else /dev/shm/mirage-xen-<uid>).",
    };

    public Option<string?> Xenstore { get; } = new("--xenstore")
    {
        Description = "The Xenstore daemon's socket, or /dev/xen/xenbus (default: see the command's description).",
    };

    /// <param name="unixDefault">The domain a unix process plays when neither --domain nor $XEN_DOMID says; null: one of them must.</param>
    public DomainOptions(ushort? unixDefault)
    {
        _unixDefault = unixDefault;
        Domain = new Option<ushort?>("--domain")
        {
            Description = "The domain this process is (unix: default $XEN_DOMID"
                + (unixDefault is { } d ? string.Create(CultureInfo.InvariantCulture, $", else {d}") : "")
                + "; xenctrl: found from Xen).",
        };
    }

    public void AddTo(Command command)
    {
        command.Add(Backend);
        command.Add(Domain);
        command.Add(Root);
        command.Add(Xenstore);
    }

    public bool IsUnix(ParseResult parse) => parse.GetValue(Backend) != "xenctrl";

    /// <summary>
    /// Opens the chosen domain, runs the program's toolstack step if it has one, opens Xenstore as the
    /// domain, and runs <paramref name="program"/>. What cannot be opened is an <see cref="IOException"/>,
    /// an <see cref="InvalidOperationException"/>, or the backend's own exception, each saying what to do.
    /// </summary>
    public async Task<int> RunAsync(ParseResult parse, IDomainProgram program, CancellationToken cancellationToken)
    {
        var xenstore = parse.GetValue(Xenstore);
        if (IsUnix(parse))
        {
            using var domain = UnixDomain.Open(new UnixDomainOptions
            {
                Domain = parse.GetValue(Domain) ?? EnvironmentDomain() ?? _unixDefault
                    ?? throw new InvalidOperationException("Say which domain this process is: --domain <id> or XEN_DOMID."),
                Root = parse.GetValue(Root),
                Xenstore = xenstore,
            });
            await ToolstackAsync(program, unix: true, xenstore, domain.Id, cancellationToken).ConfigureAwait(false);
            await using var store = await domain.OpenXenstoreAsync(cancellationToken).ConfigureAwait(false);
            return await program.RunAsync(new DomainSession<Xen.Evtchn.Unix.UnixEvents, Xen.Gnt.Unix.UnixMemory>(domain.Events, domain.Memory, store, () => domain.Frames), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            using var domain = await XenctrlDomain.OpenAsync(new XenctrlDomainOptions { Domain = parse.GetValue(Domain), Xenstore = xenstore }, cancellationToken).ConfigureAwait(false);
            await ToolstackAsync(program, unix: false, xenstore, domain.Id, cancellationToken).ConfigureAwait(false);
            await using var store = await domain.OpenXenstoreAsync(cancellationToken).ConfigureAwait(false);
            return await program.RunAsync(new DomainSession<Xen.Evtchn.Xenctrl.XenctrlEvents, Xen.Gnt.Xenctrl.XenctrlMemory>(domain.Events, domain.Memory, store, () => domain.Frames), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Whether <paramref name="e"/> is one of the failures that say what to do (a missing daemon,
    /// device or id): printed as a line, not a stack trace.</summary>
    public static bool Explains(Exception e) =>
        e is IOException or XenstoreException or NotSupportedException or InvalidOperationException or EventChannelException or GrantException
            or UnauthorizedAccessException or TimeoutException;

    private static async Task ToolstackAsync(IDomainProgram program, bool unix, string? xenstore, ushort domain, CancellationToken cancellationToken)
    {
        if (program is not IToolstackStep step || !step.RunsWith(unix))
            return;
        await using var dom0 = await XenstoreClient.OpenAsync(xenstore, actAs: null, cancellationToken).ConfigureAwait(false);
        await step.RunAsync(dom0, domain, cancellationToken).ConfigureAwait(false);
    }

    private static ushort? EnvironmentDomain()
    {
        var text = Environment.GetEnvironmentVariable("XEN_DOMID");
        if (string.IsNullOrEmpty(text))
            return null;
        return ushort.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw new InvalidOperationException($"XEN_DOMID is '{text}', not a domain id (0 to 65535).");
    }
}
