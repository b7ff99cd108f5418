using System.Globalization;
using System.Text;

namespace Xen.Store;

/// <summary>
/// The store operations, on the committed store (<see cref="XenstoreClient"/>) or inside a
/// transaction (<see cref="XenstoreTransaction"/>). Paths are absolute, or relative to the
/// connection's domain home (<c>/local/domain/&lt;id&gt;</c>). Failures are <see cref="XenstoreException"/>s.
/// </summary>
public abstract class XenstoreOperations
{
    private protected XenstoreOperations()
    {
    }

    /// <summary>Reads a node's value as UTF-8 text.</summary>
    /// <exception cref="XenstoreException"><see cref="XsError.ENOENT"/> when the node does not exist.</exception>
    public async Task<string> ReadAsync(string path, CancellationToken cancellationToken = default) =>
        Encoding.UTF8.GetString(await ReadBytesAsync(path, cancellationToken).ConfigureAwait(false));

    /// <summary>Reads a node's value, or returns null when the node does not exist.</summary>
    public async Task<string?> TryReadAsync(string path, CancellationToken cancellationToken = default)
    {
        try
        {
            return await ReadAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (XenstoreException e) when (e.Error == XsError.ENOENT)
        {
            return null;
        }
    }

    /// <summary>Reads a node's raw value.</summary>
    public Task<byte[]> ReadBytesAsync(string path, CancellationToken cancellationToken = default) =>
        SendPathAsync(XsMessageType.Read, path, cancellationToken);

    /// <summary>
    /// Reads a node's raw value into <paramref name="destination"/> and returns its length: the read
    /// for hot paths, which allocates nothing once the connection is warm. The value must fit
    /// (<see cref="XsWire.PayloadMax"/> bytes always do). The returned <see cref="ValueTask{TResult}"/>
    /// may be awaited once, and its continuation runs on the connection's reader: what it does there
    /// delays the replies behind it, so it must not block (await instead).
    /// </summary>
    /// <exception cref="XenstoreException"><see cref="XsError.ENOENT"/> when the node does not exist;
    /// <see cref="XsError.E2BIG"/> when the value does not fit <paramref name="destination"/>.</exception>
    public ValueTask<int> ReadBytesAsync(string path, Memory<byte> destination, CancellationToken cancellationToken = default) =>
        ReadIntoAsync(path, destination, cancellationToken);

    /// <summary>Writes a node's value as UTF-8 text, creating missing parents.</summary>
    public Task WriteAsync(string path, string value, CancellationToken cancellationToken = default) =>
        WriteAsync(path, Encoding.UTF8.GetBytes(value), cancellationToken);

    /// <summary>Writes a node's raw value, creating missing parents.</summary>
    public Task WriteAsync(string path, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        var pathBytes = Encoding.UTF8.GetBytes(path);
        var payload = new byte[pathBytes.Length + 1 + value.Length];
        pathBytes.CopyTo(payload, 0);
        value.Span.CopyTo(payload.AsSpan(pathBytes.Length + 1));
        return SendAsync(XsMessageType.Write, payload, cancellationToken);
    }

    /// <summary>Lists a node's children (leaf names), using <c>DIRECTORY_PART</c> when the list is long.</summary>
    public async Task<IReadOnlyList<string>> DirectoryAsync(string path, CancellationToken cancellationToken = default)
    {
        try
        {
            return Split(await SendAsync(XsMessageType.Directory, Args(path), cancellationToken).ConfigureAwait(false));
        }
        catch (XenstoreException e) when (e.Error == XsError.E2BIG)
        {
            return await DirectoryInPartsAsync(path, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Creates a node and missing parents; an existing node is left as it is.</summary>
    public Task MkdirAsync(string path, CancellationToken cancellationToken = default) =>
        SendPathAsync(XsMessageType.Mkdir, path, cancellationToken);

    /// <summary>Removes a node and everything below it; a missing node under an existing parent is fine.</summary>
    public Task RmAsync(string path, CancellationToken cancellationToken = default) =>
        SendPathAsync(XsMessageType.Rm, path, cancellationToken);

    /// <summary>Reads a node's permissions.</summary>
    public async Task<XsPermissions> GetPermissionsAsync(string path, CancellationToken cancellationToken = default) =>
        XsPermissions.Parse(Split(await SendAsync(XsMessageType.GetPerms, Args(path), cancellationToken).ConfigureAwait(false)))
        ?? throw new XenstoreException(XsError.EIO, $"The daemon sent malformed permissions for {path}.");

    /// <summary>Replaces a node's permissions (the owner's entry first).</summary>
    public Task SetPermissionsAsync(string path, XsPermissions permissions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(permissions);
        return SendAsync(XsMessageType.SetPerms, Args([path, .. permissions.Entries.Select(e => e.ToString())]), cancellationToken);
    }

    /// <summary>Sends one request in this context and returns the reply's payload.</summary>
    private protected abstract Task<byte[]> SendAsync(XsMessageType type, byte[] payload, CancellationToken cancellationToken);

    /// <summary>Sends one request whose payload is <paramref name="path"/> and its NUL, encoded straight onto the wire.</summary>
    private protected abstract Task<byte[]> SendPathAsync(XsMessageType type, string path, CancellationToken cancellationToken);

    /// <summary>A <c>READ</c> in this context whose value goes into <paramref name="destination"/>.</summary>
    private protected abstract ValueTask<int> ReadIntoAsync(string path, Memory<byte> destination, CancellationToken cancellationToken);

    private protected static byte[] Args(params ReadOnlySpan<string> args)
    {
        var builder = new StringBuilder();
        foreach (var a in args)
            builder.Append(a).Append('\0');
        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    private protected static string[] Split(byte[] payload)
    {
        var text = Encoding.UTF8.GetString(payload);
        if (text.EndsWith('\0'))
            text = text[..^1];
        return text.Length == 0 ? [] : text.Split('\0');
    }

    internal async Task<IReadOnlyList<string>> DirectoryInPartsAsync(string path, CancellationToken cancellationToken)
    {
        while (true)
        {
            var names = new List<string>();
            string? generation = null;
            var offset = 0;
            var restart = false;
            while (true)
            {
                var reply = await SendAsync(XsMessageType.DirectoryPart, Args(path, offset.ToString(CultureInfo.InvariantCulture)), cancellationToken).ConfigureAwait(false);
                var nul = Array.IndexOf(reply, (byte)0);
                if (nul < 0)
                    throw new XenstoreException(XsError.EIO, "Malformed DIRECTORY_PART reply.");
                var gen = Encoding.ASCII.GetString(reply, 0, nul);
                if (generation is not null && gen != generation)
                {
                    restart = true;
                    break;
                }
                generation = gen;
                var rest = reply.AsSpan(nul + 1);
                // The list ends with an empty name: two NULs in a row, or a lone NUL.
                var complete = rest.Length == 1 || (rest.Length >= 2 && rest[^1] == 0 && rest[^2] == 0);
                var names0 = complete ? rest[..^1] : rest;
                offset += names0.Length;
                names.AddRange(Split(names0.ToArray()));
                if (complete || names0.IsEmpty)
                    break;
            }
            if (!restart)
                return names;
        }
    }
}
