using System.CommandLine;
using Blkif;
using Blkif.Storage;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Mirage.Cli.Commands;

/// <summary><c>mirage blkback</c>: serves a raw disk image to one blkfront, meeting it through Xenstore.</summary>
public static class BlkbackCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var file = new Option<FileInfo>("--file") { Description = "The raw disk image to serve.", Required = true };
        var readOnly = new Option<bool>("--read-only") { Description = "Serve the image read-only (mode r): writes are refused." };
        var sectorSize = new Option<int>("--sector-size")
        {
            Description = "The disk's logical sector size, 512 or 4096 (sector-size; sectors stays in 512-byte units).",
            DefaultValueFactory = _ => 512,
        }.AcceptOnlyFromAmong("512", "4096");
        var domain = new Option<ushort?>("--domain") { Description = "This end's domain id (unix: default 0; xenctrl: found by itself)." };
        var frontendDomain = new Option<ushort>("--frontend-domain") { Description = "The frontend's domain id.", DefaultValueFactory = _ => 1 };
        var createDevice = new Option<bool?>("--create-device")
        {
            Description = "Do the toolstack's step first: create the device's Xenstore directories (default: yes with unix, no with xenctrl, where xl does it).",
        };
        var backend = BlkifHost.Backend();
        var xenstore = BlkifHost.Xenstore();
        var root = BlkifHost.Root();
        var device = BlkifHost.Device();
        var timeout = BlkifHost.Timeout();
        var command = new Command("blkback",
            "Serve a raw disk image as a Xen virtual block device (vbd) to one blkfront: publish the backend keys, wait for the frontend, " +
            "serve its rings until it closes or dies, then exit. " + BlkifHost.XenstoreHelp)
        {
            file, readOnly, sectorSize, domain, frontendDomain, createDevice, backend, xenstore, root, device, timeout,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var kind = parse.GetValue(backend)!;
            var path = parse.GetValue(file)!.FullName;
            RawImageStorage storage;
            try
            {
                storage = RawImageStorage.Open(path, parse.GetValue(readOnly), parse.GetValue(sectorSize));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                Console.Error.WriteLine($"blkback: cannot open {path}: {e.Message}");
                return 1;
            }
            using (storage)
            {
                var body = new Body(storage, path, parse.GetValue(frontendDomain), parse.GetValue(device), parse.GetValue(xenstore)!,
                    parse.GetValue(createDevice) ?? kind == "unix", parse.GetValue(timeout), cancellationToken);
                try
                {
                    return await BlkifHost.WithBackendAsync(kind, parse.GetValue(domain), parse.GetValue(root), body).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or XenstoreException or InvalidDataException or EventChannelException or GrantException)
                {
                    Console.Error.WriteLine($"blkback: {e.Message}");
                    return 1;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    Console.Error.WriteLine("blkback: no frontend connected in time.");
                    return 1;
                }
            }
        });
        return command;
    }

    private sealed class Body(RawImageStorage storage, string image, ushort frontendDomain, uint deviceId, string socket, bool createDevice, double timeout, CancellationToken cancellationToken)
        : BlkifHost.IBackendBody
    {
        public async Task<int> RunAsync<TEvents, TMemory>(TEvents events, TMemory memory, ushort domain, bool privileged)
            where TEvents : IEvents
            where TMemory : IMemory
        {
            var device = new XenbusDevice(BlkifXenbus.DeviceType, deviceId, frontendDomain, domain);
            await using var client = await BlkifHost.ConnectXenstoreAsync(socket, cancellationToken).ConfigureAwait(false);
            if (createDevice)
                await BlkifHost.CreateDeviceAsync(client, device, storage.IsReadOnly, image, cancellationToken).ConfigureAwait(false);
            if (privileged && domain != 0)
                await client.ActAsDomainAsync(domain, cancellationToken).ConfigureAwait(false);
            await using var back = new Blkback<TEvents, TMemory>(events, memory, storage);
            Console.Error.WriteLine($"blkback: serving {storage.Length} bytes ({(back.Info.ReadOnly ? "read-only" : "read-write")}) at {device.BackendPath}");
            bool resumed;
            using (var deadline = BlkifHost.Deadline(timeout, cancellationToken))
                resumed = await BlkifXenbus.ConnectBackendAsync(client, device, back, deadline.Token).ConfigureAwait(false);
            Console.Error.WriteLine($"blkback: connected to domain {frontendDomain}{(resumed ? ", resuming the rings a dead backend left" : "")}");
            bool polite;
            try
            {
                polite = await BlkifXenbus.ServeBackendAsync(client, device, back,
                    () => Console.Error.WriteLine("blkback: the connection ended; releasing the frontend's pages"), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Ctrl-C or SIGTERM: stop serving and say so in Xenstore.
                await back.DisposeAsync().ConfigureAwait(false);
                await Xenbus.SetStateAsync(client, device.BackendPath, XenbusState.Closed, CancellationToken.None).ConfigureAwait(false);
                Console.Error.WriteLine("blkback: stopped");
                return 0;
            }
            Console.Error.WriteLine(polite ? "blkback: the frontend closed the device" : "blkback: the frontend went away without closing; its pages are released");
            return 0;
        }
    }
}
