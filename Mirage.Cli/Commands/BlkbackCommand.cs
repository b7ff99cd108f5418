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
        var frontendDomain = new Option<ushort>("--frontend-domain") { Description = "The frontend's domain id.", DefaultValueFactory = _ => 1 };
        var createDevice = new Option<bool?>("--create-device")
        {
            Description = "Do the toolstack's step first: create the device's Xenstore directories (default: yes with unix, no with xenctrl, where xl does it).",
        };
        var domainOptions = new DomainOptions(unixDefault: 0);
        var device = BlkifHost.Device();
        var timeout = BlkifHost.Timeout();
        var command = new Command("blkback",
            "Serve a raw disk image as a Xen virtual block device (vbd) to one blkfront: publish the backend keys, wait for the frontend, " +
            "serve its rings until it closes or dies, then exit. " + DomainOptions.XenstoreHelp)
        {
            file, readOnly, sectorSize, frontendDomain, createDevice, device, timeout,
        };
        domainOptions.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
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
                var body = new Body(storage, path, parse.GetValue(frontendDomain), parse.GetValue(device),
                    parse.GetValue(createDevice) ?? domainOptions.IsUnix(parse), parse.GetValue(timeout));
                try
                {
                    return await domainOptions.RunAsync(parse, body, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (DomainOptions.Explains(e) || e is InvalidDataException)
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

    private sealed class Body(RawImageStorage storage, string image, ushort frontendDomain, uint deviceId, bool createDevice, double timeout)
        : IDomainProgram, IToolstackStep
    {
        public bool RunsWith(bool unix) => createDevice;

        public Task RunAsync(XenstoreClient dom0, ushort domain, CancellationToken cancellationToken) =>
            BlkifHost.CreateDeviceAsync(dom0, Device(domain), storage.IsReadOnly, image, cancellationToken);

        private XenbusDevice Device(ushort domain) => new(BlkifXenbus.DeviceType, deviceId, frontendDomain, domain);

        public async Task<int> RunAsync<TEvents, TMemory>(DomainSession<TEvents, TMemory> domain, CancellationToken cancellationToken)
            where TEvents : IEvents
            where TMemory : IMemory
        {
            var device = Device(domain.Id);
            var client = domain.Store;
            await using var back = new Blkback<TEvents, TMemory>(domain.Events, domain.Memory, storage);
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
