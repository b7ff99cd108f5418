using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using TestSupport;

namespace Vchan.Tests;

/// <summary>
/// Xen's real libxenvchan with the Unix shims under it: <c>libxenevtchn.so.1</c> and
/// <c>libxengnttab.so.1</c> built with gcc from <c>xenvchan/</c> into a folder that goes first in
/// <c>LD_LIBRARY_PATH</c>, and the C peer <c>xenvchan_peer</c> linked against the system's libxenvchan.
/// </summary>
internal static class Libxenvchan
{
    /// <summary>Why the tests cannot run here, or null.</summary>
    public static string? Missing
    {
        get
        {
            if (!OperatingSystem.IsLinux())
                return "Needs Linux.";
            var path = Environment.GetEnvironmentVariable("PATH") ?? "";
            if (!path.Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, "gcc"))))
                return "Needs gcc (apt-get install gcc).";
            if (!File.Exists("/usr/include/libxenvchan.h") || !Directory.EnumerateFiles("/usr/lib", "libxenvchan.so*", SearchOption.AllDirectories).Any())
                return "Needs Xen's libxenvchan (apt-get install libxen-dev).";
            return null;
        }
    }

    private static readonly Lazy<(string Shims, string Peer)> Built = new(Build);

    /// <summary>The folder holding the two shim libraries under their Xen sonames.</summary>
    public static string ShimFolder => Built.Value.Shims;

    /// <summary>The C peer, linked against the real libxenvchan.</summary>
    public static string Peer => Built.Value.Peer;

    private static (string, string) Build()
    {
        var source = Path.Combine(AppContext.BaseDirectory, "xenvchan");
        string[] files = ["xen_unix_domain.h", "xen_unix_evtchn.c", "xen_unix_gnttab.c", "libxenevtchn.map", "libxengnttab.map"];
        var text = new StringBuilder();
        foreach (var f in files)
            text.Append(File.ReadAllText(Path.Combine(source, f)));
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
        var folder = Path.Combine(Path.GetTempPath(), "mirage-xenvchan-shims-" + hash);
        if (!File.Exists(Path.Combine(folder, "libxengnttab.so.1")))
        {
            // Built beside, then moved into place whole, so concurrent runs never see half a folder.
            var building = folder + "." + Environment.ProcessId + ".tmp";
            Directory.CreateDirectory(building);
            string[] common = ["-O2", "-Wall", "-Wextra", "-Werror", "-Wno-format-truncation", "-std=gnu11", "-fPIC", "-shared", "-pthread"];
            Gcc([.. common, "-Wl,-soname,libxenevtchn.so.1", "-Wl,--version-script=" + Path.Combine(source, "libxenevtchn.map"),
                "-o", Path.Combine(building, "libxenevtchn.so.1"), Path.Combine(source, "xen_unix_evtchn.c")]);
            Gcc([.. common, "-Wl,-soname,libxengnttab.so.1", "-Wl,--version-script=" + Path.Combine(source, "libxengnttab.map"),
                "-o", Path.Combine(building, "libxengnttab.so.1"), Path.Combine(source, "xen_unix_gnttab.c"),
                Path.Combine(building, "libxenevtchn.so.1"), "-Wl,-z,defs"]);
            try
            {
                Directory.Move(building, folder);
            }
            catch (IOException) when (Directory.Exists(folder))
            {
                Directory.Delete(building, recursive: true); // another run got there first
            }
        }
        var peer = CProgram.Compile(Path.Combine("xenvchan", "xenvchan_peer.c"), "-lxenvchan", "-lxenevtchn", "-lxengnttab").Executable;
        return (folder, peer);
    }

    private static void Gcc(string[] arguments)
    {
        var info = new ProcessStartInfo("gcc") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        using var gcc = Process.Start(info)!;
        var stdout = gcc.StandardOutput.ReadToEndAsync();
        var stderr = gcc.StandardError.ReadToEndAsync();
        if (!gcc.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            gcc.Kill();
            throw new TimeoutException("gcc did not finish within 2 minutes.");
        }
        if (gcc.ExitCode != 0)
            throw new InvalidOperationException($"gcc {string.Join(' ', arguments)} failed:\n{stdout.Result}{stderr.Result}");
    }

    /// <summary>
    /// Starts the C peer as <paramref name="domain"/>: the shims first in the library path, the Unix
    /// backends' <paramref name="root"/>, and a Xenstore socket whose connections act as that domain.
    /// </summary>
    public static PeerProcess Start(string root, ushort domain, string storeSocket, params string[] arguments)
    {
        var info = OnShims(Peer, root, domain, arguments);
        info.Environment["XENSTORED_PATH"] = storeSocket;
        return new PeerProcess(info);
    }

    /// <summary>How to run <paramref name="program"/> as <paramref name="domain"/> on the shims, under <paramref name="root"/>.</summary>
    public static ProcessStartInfo OnShims(string program, string root, ushort domain, params string[] arguments)
    {
        var info = new ProcessStartInfo(program);
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        info.Environment["LD_LIBRARY_PATH"] = ShimFolder;
        info.Environment["XEN_ROOT"] = root;
        info.Environment["XEN_DOMID"] = domain.ToString(CultureInfo.InvariantCulture);
        return info;
    }
}

/// <summary>A fact that needs gcc and Xen's libxenvchan; skipped, and said so, otherwise.</summary>
public sealed class LibxenvchanFactAttribute : FactAttribute
{
    public LibxenvchanFactAttribute()
    {
        if (Libxenvchan.Missing is { } why)
            Skip = why;
    }
}

/// <summary>A theory that needs gcc and Xen's libxenvchan; skipped, and said so, otherwise.</summary>
public sealed class LibxenvchanTheoryAttribute : TheoryAttribute
{
    public LibxenvchanTheoryAttribute()
    {
        if (Libxenvchan.Missing is { } why)
            Skip = why;
    }
}

/// <summary>
/// The C peer's byte stream: xorshift64* seeded with the sender's domain, eight bytes at a time,
/// little-endian; and FNV-1a 64, the checksum both sides print.
/// </summary>
internal sealed class XorshiftPattern(ulong seed)
{
    private ulong _state = seed * 0x9E3779B97F4A7C15UL + 1;
    private ulong _block;
    private int _used = 8;

    public void Fill(Span<byte> output)
    {
        for (var i = 0; i < output.Length; i++)
        {
            if (_used == 8)
            {
                var x = _state;
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                _state = x;
                _block = x * 0x2545F4914F6CDD1DUL;
                _used = 0;
            }
            output[i] = (byte)(_block >> (8 * _used++));
        }
    }

    /// <summary>The FNV-1a 64 of the first <paramref name="count"/> bytes of the stream of <paramref name="seed"/>.</summary>
    public static ulong Expected(ulong seed, long count)
    {
        var pattern = new XorshiftPattern(seed);
        var hash = new Fnv();
        var buffer = new byte[65536];
        for (long done = 0; done < count;)
        {
            var n = (int)Math.Min(buffer.Length, count - done);
            pattern.Fill(buffer.AsSpan(0, n));
            hash.Append(buffer.AsSpan(0, n));
            done += n;
        }
        return hash.Value;
    }
}

/// <summary>FNV-1a, 64 bits.</summary>
internal sealed class Fnv
{
    public ulong Value { get; private set; } = 0xCBF29CE484222325UL;

    public void Append(ReadOnlySpan<byte> data)
    {
        var h = Value;
        foreach (var b in data)
        {
            h ^= b;
            h *= 0x100000001B3UL;
        }
        Value = h;
    }

    public string Hex => Value.ToString("x16", CultureInfo.InvariantCulture);
}
