using System.Globalization;

namespace Xen.Unix;

/// <summary>
/// The root folder under which Unix "domains" meet, and how a process finds its own domain id:
/// options first, then the environment (<c>XEN_ROOT</c>, <c>XEN_DOMID</c>).
/// </summary>
internal static class XenRoot
{
    /// <summary>
    /// How long connecting to another domain's socket, and its handshake, may take: a connect blocks
    /// while the listener's backlog is full, and a peer that never accepts or answers must not hang us.
    /// </summary>
    public static readonly TimeSpan SocketTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The environment variable that names the root folder.</summary>
    public const string RootVariable = "XEN_ROOT";

    /// <summary>The environment variable that gives this process's domain id.</summary>
    public const string DomainVariable = "XEN_DOMID";

    /// <summary>Xen's <c>DOMID_FIRST_RESERVED</c>: ids from here on name special domains, never a process.</summary>
    public const ushort FirstReservedDomain = 0x7FF0;

    private const int S_IFMT = 0xF000;
    private const int S_IFDIR = 0x4000;

    /// <summary>The default root: a private folder of this user on tmpfs.</summary>
    public static string DefaultPath
    {
        get
        {
            var shm = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
            return Path.Combine(shm, "mirage-xen-" + Interop.Libc.GetEUid().ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>The root to use: the option, else <c>XEN_ROOT</c>, else <see cref="DefaultPath"/>.</summary>
    public static string Resolve(string? option)
    {
        var path = option;
        if (string.IsNullOrEmpty(path))
            path = Environment.GetEnvironmentVariable(RootVariable);
        if (string.IsNullOrEmpty(path))
            path = DefaultPath;
        return Path.GetFullPath(path);
    }

    /// <summary>The domain to act as: the option, else <c>XEN_DOMID</c>; anything else is an error.</summary>
    public static ushort ResolveDomain(ushort? option)
    {
        ushort domain;
        if (option is { } given)
        {
            domain = given;
        }
        else
        {
            var text = Environment.GetEnvironmentVariable(DomainVariable);
            if (string.IsNullOrEmpty(text))
                throw new InvalidOperationException($"No domain id: set the Domain option or the {DomainVariable} environment variable.");
            if (!ushort.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out domain))
                throw new InvalidOperationException($"{DomainVariable}='{text}' is not a domain id (a decimal number below {FirstReservedDomain}).");
        }
        if (domain >= FirstReservedDomain)
            throw new ArgumentOutOfRangeException(nameof(option), domain, $"Domain ids from {FirstReservedDomain} (DOMID_FIRST_RESERVED) on are reserved.");
        return domain;
    }

    /// <summary>Creates the root folder if needed (mode 0700) and checks that it is private to this user.</summary>
    public static void Ensure(string root)
    {
        if (Interop.Libc.Mkdir(root, Convert.ToInt32("700", 8)) != 0 && Interop.Errno.Last != Interop.Errno.EEXIST)
            throw Interop.Errno.Fail("mkdir", root);
        if (!Interop.Libc.Statx(root, out var st))
            throw new IOException($"The Xen root folder {root} vanished while it was being created.");
        if ((st.stx_mode & S_IFMT) != S_IFDIR)
            throw new IOException($"The Xen root {root} is not a folder.");
        if (st.stx_uid != Interop.Libc.GetEUid())
            throw new IOException($"The Xen root folder {root} belongs to user {st.stx_uid}, not to this user ({Interop.Libc.GetEUid()}): choose another with {RootVariable}.");
        if ((st.stx_mode & Convert.ToInt32("077", 8)) != 0)
            throw new IOException($"The Xen root folder {root} is open to other users (mode {Convert.ToString(st.stx_mode & 0xFFF, 8)}): it must be 0700.");
    }

    /// <summary>The folder of <paramref name="domain"/> under <paramref name="root"/>.</summary>
    public static string DomainPath(string root, ushort domain) =>
        Path.Combine(root, domain.ToString(CultureInfo.InvariantCulture));
}
