using System.CommandLine;
using System.Net;
using Fbif;
using Fbif.Vnc;
using Kbdif;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Mirage.Cli.Commands;

/// <summary>
/// <c>mirage fbback</c>: serves one domain's PV framebuffer over VNC, and passes the VNC client's keys
/// and pointer to the domain's PV keyboard, meeting both frontends through Xenstore.
/// </summary>
public static class FbbackCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var vnc = new Option<string>("--vnc")
        {
            Description = "Where the VNC (RFB 3.8) server listens: address:port. Loopback by default, so that only this host can look.",
            DefaultValueFactory = _ => "127.0.0.1:5900",
        };
        var frontendDomain = new Option<ushort>("--frontend-domain") { Description = "The frontend's domain id.", DefaultValueFactory = _ => 1 };
        var videoram = new Option<int>("--videoram") { Description = "videoram: the most framebuffer memory the frontend may use, in MiB.", DefaultValueFactory = _ => 2 };
        var width = new Option<int?>("--width") { Description = "The width to offer the frontend (width)." };
        var height = new Option<int?>("--height") { Description = "The height to offer the frontend (height)." };
        var noKeyboard = new Option<bool>("--no-keyboard") { Description = "Serve only the framebuffer, not the vkbd." };
        var createDevice = new Option<bool?>("--create-device")
        {
            Description = "Do the toolstack's step first: create the vfb and vkbd Xenstore directories (default: yes with unix, no with xenctrl, where xl does it).",
        };
        var domainOptions = new DomainOptions(unixDefault: 0);
        var device = FramebufferHost.Device();
        var timeout = FramebufferHost.Timeout();
        var command = new Command("fbback",
            "Serve a domain's PV framebuffer (vfb) over VNC and its PV keyboard (vkbd) from the VNC client's input: publish the backend keys, " +
            "wait for the frontends, show the screen until the framebuffer frontend closes or dies, then exit. " + DomainOptions.XenstoreHelp)
        {
            vnc, frontendDomain, videoram, width, height, noKeyboard, createDevice, device, timeout,
        };
        domainOptions.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var body = new Body(FramebufferHost.ParseEndPoint(parse.GetValue(vnc)!), parse.GetValue(frontendDomain), parse.GetValue(device),
                    new FbbackOptions { VideoRamMiB = parse.GetValue(videoram), Width = parse.GetValue(width), Height = parse.GetValue(height) },
                    !parse.GetValue(noKeyboard), parse.GetValue(createDevice) ?? domainOptions.IsUnix(parse), parse.GetValue(timeout));
                using var stop = StopSignals.Link(cancellationToken);
                return await domainOptions.RunAsync(parse, body, stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (DomainOptions.Explains(e) || e is InvalidDataException or System.Net.Sockets.SocketException)
            {
                Console.Error.WriteLine($"fbback: {e.Message}");
                return 1;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Console.Error.WriteLine("fbback: no frontend connected in time.");
                return 1;
            }
        });
        return command;
    }

    private sealed class Body(IPEndPoint vnc, ushort frontendDomain, uint deviceId, FbbackOptions options, bool keyboard, bool createDevice, double timeout)
        : IDomainProgram, IToolstackStep
    {
        public bool RunsWith(bool unix) => createDevice;

        private KbdifBackendInfo KeyboardInfo => new(true, options.Width ?? 800, options.Height ?? 600);

        public Task RunAsync(XenstoreClient dom0, ushort domain, CancellationToken cancellationToken) =>
            FramebufferHost.CreateDevicesAsync(dom0, FramebufferHost.Framebuffer(deviceId, frontendDomain, domain), options.ToBackendInfo(),
                FramebufferHost.Keyboard(deviceId, frontendDomain, domain), KeyboardInfo, cancellationToken);

        public async Task<int> RunAsync<TEvents, TMemory>(DomainSession<TEvents, TMemory> domain, CancellationToken cancellationToken)
            where TEvents : IEvents
            where TMemory : IMemory
        {
            var fbDevice = FramebufferHost.Framebuffer(deviceId, frontendDomain, domain.Id);
            var kbdDevice = FramebufferHost.Keyboard(deviceId, frontendDomain, domain.Id);
            await using var back = new Fbback<TEvents, IForeignFrames>(domain.Events, domain.Frames, options);
            var input = new KbdifVncInput<TEvents, TMemory>();
            await using var server = new VncServer(back, input, new VncServerOptions { EndPoint = vnc, Name = $"mirage domain {frontendDomain}" });
            server.Start();
            // Scripts read this line for the port when they asked for port 0.
            Console.WriteLine($"fbback: VNC on {server.LocalEndPoint}");
            Console.Error.WriteLine($"fbback: serving {fbDevice.BackendPath}, videoram {options.VideoRamMiB} MiB");
            await using var kbd = new Kbdback<TEvents, TMemory, IForeignFrames>(domain.Events, domain.Memory, domain.Frames,
                KeyboardInfo);
            using var stopKeyboard = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var keyboardTask = keyboard ? ConnectKeyboardAsync(domain.Store, kbdDevice, kbd, input, stopKeyboard.Token) : Task.CompletedTask;
            try
            {
                using (var deadline = FramebufferHost.Deadline(timeout, cancellationToken))
                    await FbifXenbus.ConnectBackendAsync(domain.Store, fbDevice, back, deadline.Token).ConfigureAwait(false);
                Console.Error.WriteLine($"fbback: connected to domain {frontendDomain}: {back.Geometry}");
                back.SetRefreshPeriod(50);
                back.Resized += g => Console.Error.WriteLine($"fbback: the frontend resized to {g}");
                var polite = await FbifXenbus.ServeBackendAsync(domain.Store, fbDevice, back, cancellationToken).ConfigureAwait(false);
                Console.Error.WriteLine(polite ? "fbback: the frontend closed the framebuffer" : "fbback: the frontend went away");
                return 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await back.DisposeAsync().ConfigureAwait(false);
                await Xenbus.SetStateAsync(domain.Store, fbDevice.BackendPath, XenbusState.Closed, CancellationToken.None).ConfigureAwait(false);
                Console.Error.WriteLine("fbback: stopped");
                return 0;
            }
            finally
            {
                await stopKeyboard.CancelAsync().ConfigureAwait(false);
                await keyboardTask.ConfigureAwait(false);
            }
        }

        private static async Task ConnectKeyboardAsync<TEvents, TMemory>(XenstoreClient store, XenbusDevice device, Kbdback<TEvents, TMemory, IForeignFrames> kbd,
            KbdifVncInput<TEvents, TMemory> input, CancellationToken cancellationToken)
            where TEvents : IEvents
            where TMemory : IMemory
        {
            try
            {
                await KbdifXenbus.ConnectBackendAsync(store, device, kbd, cancellationToken).ConfigureAwait(false);
                input.Attach(kbd);
                Console.Error.WriteLine($"fbback: keyboard connected ({(kbd.AbsolutePointer ? "absolute" : "relative")} pointer)");
            }
            catch (OperationCanceledException)
            {
                // The framebuffer ended first.
            }
            catch (Exception e) when (DomainOptions.Explains(e) || e is InvalidDataException)
            {
                Console.Error.WriteLine($"fbback: keyboard not served: {e.Message}");
            }
        }
    }
}
