using System.Buffers.Binary;

namespace Xen.Store.Checks;

/// <summary>Step-by-step checks of the xenbus device itself, to tell a device problem from a client one.</summary>
internal static class XenbusProbe
{
    public static async Task<int> RunAsync(string path)
    {
        // 1. One GET_DOMAIN_PATH by hand, with a plain blocking read.
        try
        {
            using var device = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
            device.Write(Message(10, 7, "0\0"u8));
            var reply = new byte[200];
            var read = Task.Run(() => device.Read(reply));
            Console.WriteLine(await Task.WhenAny(read, Task.Delay(10_000)) == read
                ? $"probe raw: {read.Result} bytes, type {BinaryPrimitives.ReadUInt32LittleEndian(reply)}, req {BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(4))}"
                : "probe raw: no reply in 10 s");
        }
        catch (Exception e)
        {
            Console.WriteLine($"probe raw: {e}");
        }
        // 2. The client.
        try
        {
            await using var client = XenstoreClient.OpenXenbus(path);
            Console.WriteLine($"probe client: {await client.GetDomainPathAsync(0).WaitAsync(TimeSpan.FromSeconds(10))}");
        }
        catch (Exception e)
        {
            Console.WriteLine($"probe client: {e}");
        }
        return 0;
    }

    private static byte[] Message(uint type, uint reqId, ReadOnlySpan<byte> payload)
    {
        var message = new byte[16 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(message, type);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(4), reqId);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(12), (uint)payload.Length);
        payload.CopyTo(message.AsSpan(16));
        return message;
    }
}
