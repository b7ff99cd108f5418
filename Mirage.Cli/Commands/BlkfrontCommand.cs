using System.CommandLine;
using System.Diagnostics;
using Blkif;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Mirage.Cli.Commands;

/// <summary><c>mirage blkfront</c>: connects to a blkback through Xenstore and copies data in or out through the ring.</summary>
public static class BlkfrontCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var copyIn = new Option<string?>("--copy-in") { Description = "Write this file (- for stdin) into the disk at --offset, then flush." };
        var copyOut = new Option<string?>("--copy-out") { Description = "Copy the whole disk out to this file (- for stdout), after any --copy-in." };
        var offset = new Option<long>("--offset") { Description = "Where --copy-in starts on the disk, in bytes.", DefaultValueFactory = _ => 0 };
        var chunk = new Option<int>("--chunk") { Description = "Bytes per call, a multiple of 4096.", DefaultValueFactory = _ => 1 << 20 };
        var depth = new Option<int>("--depth") { Description = "Calls in flight.", DefaultValueFactory = _ => 4 };
        var backendDomain = new Option<ushort>("--backend-domain") { Description = "The backend's domain id.", DefaultValueFactory = _ => 0 };
        var domainOptions = new DomainOptions(unixDefault: 1);
        var device = BlkifHost.Device();
        var timeout = BlkifHost.Timeout();
        var command = new Command("blkfront",
            "Connect to a blkback's virtual block device (vbd) through Xenstore, copy a file into it and/or the whole disk out of it " +
            "through the ring, then close the device. " + DomainOptions.XenstoreHelp)
        {
            copyIn, copyOut, offset, chunk, depth, backendDomain, device, timeout,
        };
        domainOptions.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(chunk) is var c && (c <= 0 || c % 4096 != 0) || parse.GetValue(depth) is < 1 or > 256 || parse.GetValue(offset) < 0)
            {
                Console.Error.WriteLine("blkfront: --chunk must be a positive multiple of 4096, --depth 1 to 256, --offset not negative.");
                return 1;
            }
            var body = new Body(new Plan(parse.GetValue(copyIn), parse.GetValue(copyOut), parse.GetValue(offset), parse.GetValue(chunk), parse.GetValue(depth)),
                parse.GetValue(backendDomain), parse.GetValue(device), parse.GetValue(timeout));
            try
            {
                return await domainOptions.RunAsync(parse, body, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (DomainOptions.Explains(e) || e is InvalidDataException)
            {
                Console.Error.WriteLine($"blkfront: {e.Message}");
                return 1;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Console.Error.WriteLine("blkfront: the backend did not connect in time.");
                return 1;
            }
        });
        return command;
    }

    private sealed record Plan(string? CopyIn, string? CopyOut, long Offset, int Chunk, int Depth);

    private sealed class Body(Plan plan, ushort backendDomain, uint deviceId, double timeout) : IDomainProgram
    {
        public async Task<int> RunAsync<TEvents, TMemory>(DomainSession<TEvents, TMemory> domain, CancellationToken cancellationToken)
            where TEvents : IEvents
            where TMemory : IMemory
        {
            var (events, memory, client) = (domain.Events, domain.Memory, domain.Store);
            var device = new XenbusDevice(BlkifXenbus.DeviceType, deviceId, domain.Id, backendDomain);
            Blkfront<TEvents, TMemory> front;
            using (var deadline = BlkifHost.Deadline(timeout, cancellationToken))
            {
                // Our blkback's toolstack step (--create-device) makes the device afresh: wait for a backend that is
                // starting, so that what an earlier run left (a Closing backend) is not taken for this one. A Closed
                // one may be Linux's xen-blkback, which keeps the device and starts again when asked: ConnectFrontendAsync asks.
                await Xenbus.WaitForStateAsync(client, device.BackendPath, s => s is XenbusState.InitWait or XenbusState.Initialised or XenbusState.Connected or XenbusState.Closed,
                    deadline.Token).ConfigureAwait(false);
                front = await BlkifXenbus.ConnectFrontendAsync(client, device, events, memory, cancellationToken: deadline.Token).ConfigureAwait(false);
            }
            Console.Error.WriteLine($"blkfront: connected to {device.BackendPath}: {front.Length} bytes, {(front.IsReadOnly ? "read-only" : "read-write")}");
            var failed = false;
            try
            {
                if (plan.CopyIn is { } source)
                    await CopyInAsync(front, front.AsStream, source, cancellationToken).ConfigureAwait(false);
                if (plan.CopyOut is { } target)
                    await CopyOutAsync(front, target, cancellationToken).ConfigureAwait(false);
            }
            catch (BlkifIOException e)
            {
                Console.Error.WriteLine($"blkfront: the device failed: {e.Message}");
                failed = true;
            }
            // A backend that failed the device is probably gone: do not wait long for its answer.
            var answered = await BlkifXenbus.CloseFrontendAsync(client, device, front, TimeSpan.FromSeconds(failed ? 1 : 10), cancellationToken).ConfigureAwait(false);
            Console.Error.WriteLine(answered ? "blkfront: closed" : "blkfront: closed; the backend did not answer");
            return failed ? 1 : 0;
        }

        private async Task CopyInAsync(IBlockDevice front, Func<Stream> openStream, string source, CancellationToken cancellationToken)
        {
            await using var input = source == "-" ? Console.OpenStandardInput() : File.OpenRead(source);
            if (input.CanSeek && plan.Offset + input.Length > front.Length)
                throw new IOException($"{source} ({input.Length} bytes) does not fit the {front.Length}-byte disk at offset {plan.Offset}.");
            var clock = Stopwatch.StartNew();
            var buffers = Enumerable.Range(0, plan.Depth).Select(_ => GC.AllocateUninitializedArray<byte>(plan.Chunk, pinned: true)).ToArray();
            var inFlight = new Task?[plan.Depth];
            long at = plan.Offset;
            byte[]? tail = null;
            for (var i = 0; ; i = (i + 1) % plan.Depth)
            {
                if (inFlight[i] is { } previous)
                    await previous.ConfigureAwait(false);
                var read = await input.ReadAtLeastAsync(buffers[i], plan.Chunk, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                    break;
                if (at + read > front.Length)
                    throw new IOException($"{source} does not fit the {front.Length}-byte disk at offset {plan.Offset}.");
                var whole = read / front.SectorSize * front.SectorSize;
                if (at % front.SectorSize != 0 || whole != read)
                {
                    // An unaligned start or a partial last sector: through the stream, which keeps the rest of the sector.
                    tail = buffers[i][..read];
                    break;
                }
                inFlight[i] = front.WriteAsync(at, buffers[i].AsMemory(0, read), cancellationToken).AsTask();
                at += read;
            }
            foreach (var task in inFlight)
            {
                if (task is not null)
                    await task.ConfigureAwait(false);
            }
            if (tail is not null)
            {
                await using var stream = openStream();
                stream.Position = at;
                await stream.WriteAsync(tail, cancellationToken).ConfigureAwait(false);
                at += tail.Length;
                if (await input.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false) != 0)
                    throw new IOException($"Writing {source} at offset {plan.Offset} needs whole sectors except at its end.");
            }
            await front.FlushAsync(cancellationToken).ConfigureAwait(false);
            Report("copied in and flushed", at - plan.Offset, clock.Elapsed);
        }

        private async Task CopyOutAsync(IBlockDevice front, string target, CancellationToken cancellationToken)
        {
            await using var output = target == "-" ? Console.OpenStandardOutput() : new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.Read, 1, useAsync: false);
            var clock = Stopwatch.StartNew();
            var buffers = Enumerable.Range(0, plan.Depth).Select(_ => GC.AllocateUninitializedArray<byte>(plan.Chunk, pinned: true)).ToArray();
            var inFlight = new (Task Read, int Length)[plan.Depth];
            long issued = 0, written = 0;
            var i = 0;
            while (written < front.Length)
            {
                // Keep every buffer busy: refill the ones that are free, then write out the oldest in order.
                while (issued < front.Length && inFlight[i].Read is null)
                {
                    var length = (int)Math.Min(plan.Chunk, front.Length - issued);
                    inFlight[i] = (front.ReadAsync(issued, buffers[i].AsMemory(0, length), cancellationToken).AsTask(), length);
                    issued += length;
                    i = (i + 1) % plan.Depth;
                }
                var oldest = (int)(written / plan.Chunk % plan.Depth);
                var (task, bytes) = inFlight[oldest];
                await task.ConfigureAwait(false);
                await output.WriteAsync(buffers[oldest].AsMemory(0, bytes), cancellationToken).ConfigureAwait(false);
                inFlight[oldest] = default;
                written += bytes;
            }
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            Report("copied out", written, clock.Elapsed);
        }

        private static void Report(string what, long bytes, TimeSpan time) =>
            Console.Error.WriteLine($"blkfront: {what} {bytes} bytes in {time.TotalSeconds:F2} s ({bytes / 1048576.0 / Math.Max(time.TotalSeconds, 1e-6):F0} MiB/s)");
    }
}
