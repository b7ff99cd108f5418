using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Vchan;
using Vchan.Peer;
using Xen.Evtchn;
using Xen.Evtchn.Unix;
using Xen.Gnt.Unix;
using Xen.Store;

// One end of a vchan in its own process, for vchan's cross-process tests.
//   Vchan.Peer <listen|connect> <local-domid> <remote-domid> <port> <mode> [bytes]
// XEN_ROOT names the Unix backends' folder, XENSTORED_PATH the Xenstore daemon's socket.
// Modes: hash <n>     send n bytes (a pattern) while receiving until the end; print both SHA-256s
//        write-close <n>   write n bytes, close, exit
//        write-hang <n>    write n bytes, print "written", then wait to be killed
//        hostile-index     (listen) once connected, claim more bytes than the ring holds, then wait
//        mux-serve         multiplex the vchan and serve two named channels at once until the other
//                          end closes: "echo" sends back what it reads, "upper" sends it back in capitals
// Prints "ready" once listening or connected.
var listen = args[0] == "listen";
var local = ushort.Parse(args[1], CultureInfo.InvariantCulture);
var remote = ushort.Parse(args[2], CultureInfo.InvariantCulture);
var port = args[3];
var mode = args[4];
var count = args.Length > 5 ? long.Parse(args[5], CultureInfo.InvariantCulture) : 0;

using var events = UnixEvents.Create(local);
using var memory = UnixMemory.Create(local, sendEvent: events.SendOnPort());
await using var store = await VchanXenstore.ConnectAsDomainAsync(null, local);
await using var endpoint = listen
    ? await VchanXenstore.ListenAsync(events, memory, store, remote, port, 1 << 20, 1 << 20)
    : await VchanXenstore.ConnectAsync(events, memory, store, remote, port, TimeSpan.FromSeconds(30));
Console.WriteLine("ready");
if (listen)
    await endpoint.WaitForConnectionAsync();

switch (mode)
{
    case "hash":
        var sending = Task.Run(async () => Convert.ToHexString(await Patterns.SendAsync(endpoint, count, seed: local)));
        var (received, length) = await Patterns.ReceiveAsync(endpoint);
        Console.WriteLine($"received {Convert.ToHexString(received)} {length}");
        Console.WriteLine($"sent {await sending}");
        break;
    case "write-close":
        await Patterns.SendAsync(endpoint, count, seed: local);
        break;
    case "write-hang":
        await Patterns.SendAsync(endpoint, count, seed: local);
        Console.WriteLine("written");
        await Task.Delay(Timeout.Infinite);
        break;
    case "hostile-index":
        // The server-to-client producer index, claiming far more than the ring holds.
        BinaryPrimitives.WriteUInt32LittleEndian(endpoint.ControlPage.Span[(VchanControlPage.RightOffset + 4)..], 0x4000_0000);
        endpoint.KickPeer();
        Console.WriteLine("written");
        await Task.Delay(Timeout.Infinite);
        break;
    case "mux-serve":
        await using (var mux = await VchanMultiplexing.CreateAsync(endpoint))
        {
            Console.WriteLine("multiplexing");
            await Task.WhenAll(
                Services.ServeAsync(mux, "echo", static _ => { }),
                Services.ServeAsync(mux, "upper", static bytes =>
                {
                    foreach (ref var b in bytes)
                        b = (byte)char.ToUpperInvariant((char)b);
                }));
            Console.WriteLine("served");
            await mux.Completion;
        }
        break;
    default:
        Console.Error.WriteLine($"unknown mode {mode}");
        return 2;
}
return 0;
