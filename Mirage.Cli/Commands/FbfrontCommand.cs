using System.CommandLine;
using System.Globalization;
using Fbif;
using Kbdif;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Mirage.Cli.Commands;

/// <summary>
/// <c>mirage fbfront</c>: a PV framebuffer frontend that draws a test pattern and a clock, and a PV
/// keyboard frontend that prints the keys and pointer events it receives.
/// </summary>
public static class FbfrontCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var backendDomain = new Option<ushort>("--backend-domain") { Description = "The backend's domain.", DefaultValueFactory = _ => 0 };
        var seconds = new Option<double>("--seconds") { Description = "Close the devices after this many seconds (0: run until stopped)." };
        var noKeyboard = new Option<bool>("--no-keyboard") { Description = "Connect only the framebuffer, not the vkbd." };
        var resize = new Option<string?>("--resize") { Description = "After drawing, resize to WIDTHxHEIGHT (the backend must offer feature-resize)." };
        var domainOptions = new DomainOptions(unixDefault: 1);
        var device = FramebufferHost.Device();
        var timeout = FramebufferHost.Timeout();
        var command = new Command("fbfront",
            "Run a PV framebuffer frontend that draws a test pattern and a clock (updated every second), and a PV keyboard frontend that prints what it receives. "
            + DomainOptions.XenstoreHelp)
        {
            backendDomain, seconds, noKeyboard, resize, device, timeout,
        };
        domainOptions.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                (int, int)? size = null;
                if (parse.GetValue(resize) is { } text)
                {
                    var parts = text.Split('x');
                    size = parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var w) && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var h)
                        ? (w, h) : throw new InvalidOperationException($"--resize '{text}' is not WIDTHxHEIGHT.");
                }
                var body = new Body(parse.GetValue(backendDomain), parse.GetValue(device), parse.GetValue(seconds), !parse.GetValue(noKeyboard), size, parse.GetValue(timeout));
                using var stop = StopSignals.Link(cancellationToken);
                return await domainOptions.RunAsync(parse, body, stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (DomainOptions.Explains(e) || e is InvalidDataException)
            {
                Console.Error.WriteLine($"fbfront: {e.Message}");
                return 1;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Console.Error.WriteLine("fbfront: no backend connected in time.");
                return 1;
            }
        });
        return command;
    }

    private sealed class Body(ushort backendDomain, uint deviceId, double seconds, bool keyboard, (int Width, int Height)? resize, double timeout) : IDomainProgram
    {
        public async Task<int> RunAsync<TEvents, TMemory>(DomainSession<TEvents, TMemory> domain, CancellationToken cancellationToken)
            where TEvents : IEvents
            where TMemory : IMemory
        {
            var fbDevice = FramebufferHost.Framebuffer(deviceId, domain.Id, backendDomain);
            var kbdDevice = FramebufferHost.Keyboard(deviceId, domain.Id, backendDomain);
            Fbfront<TEvents, IForeignFrames> front;
            using (var deadline = FramebufferHost.Deadline(timeout, cancellationToken))
                front = await FbifXenbus.ConnectFrontendAsync(domain.Store, fbDevice, domain.Events, domain.Frames, cancellationToken: deadline.Token).ConfigureAwait(false);
            Kbdfront<TEvents, TMemory>? kbd = null;
            try
            {
                Console.Error.WriteLine($"fbfront: connected to domain {backendDomain}: {front.Geometry}, {front.MemLength} bytes");
                if (keyboard)
                {
                    using var deadline = FramebufferHost.Deadline(timeout, cancellationToken);
                    kbd = await KbdifXenbus.ConnectFrontendAsync(domain.Store, kbdDevice, domain.Events, domain.Memory, deadline.Token).ConfigureAwait(false);
                    Console.Error.WriteLine("fbfront: keyboard connected");
                }
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                if (seconds > 0)
                    stop.CancelAfter(TimeSpan.FromSeconds(seconds));
                var keys = kbd is null ? Task.CompletedTask : PrintInputAsync(kbd, stop.Token);
                await DrawAsync(front, resize, stop.Token).ConfigureAwait(false);
                await keys.ConfigureAwait(false);
            }
            finally
            {
                if (kbd is not null)
                {
                    await XenbusSteps.CloseFrontendAsync(domain.Store, kbdDevice, TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
                    await kbd.DisposeAsync().ConfigureAwait(false);
                    await Xenbus.SetStateAsync(domain.Store, kbdDevice.FrontendPath, XenbusState.Closed, CancellationToken.None).ConfigureAwait(false);
                }
                var answered = await FbifXenbus.CloseFrontendAsync(domain.Store, fbDevice, front, TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
                Console.Error.WriteLine(answered ? "fbfront: closed" : "fbfront: closed; the backend did not answer");
            }
            return 0;
        }

        private static async Task DrawAsync<TEvents>(Fbfront<TEvents, IForeignFrames> front, (int Width, int Height)? resize, CancellationToken cancellationToken)
            where TEvents : IEvents
        {
            var g = front.Geometry;
            TestPattern.Draw(front.Pixels, g);
            front.Update(new FramebufferRect(0, 0, g.Width, g.Height));
            Console.Error.WriteLine("fbfront: drew the test pattern");
            if (resize is { } size)
            {
                front.Resize(size.Width, size.Height);
                g = front.Geometry;
                TestPattern.Draw(front.Pixels, g);
                front.Update(new FramebufferRect(0, 0, g.Width, g.Height));
                Console.Error.WriteLine($"fbfront: resized to {g}");
            }
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            do
            {
                var clock = DateTime.UtcNow.ToString("HH:mm:ss", CultureInfo.InvariantCulture);
                front.Update(TestPattern.DrawClock(front.Pixels, g, clock));
            }
            while (await Tick(timer, cancellationToken).ConfigureAwait(false));
        }

        private static async Task<bool> Tick(PeriodicTimer timer, CancellationToken cancellationToken)
        {
            try
            {
                return await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        private static async Task PrintInputAsync<TEvents, TMemory>(Kbdfront<TEvents, TMemory> kbd, CancellationToken cancellationToken)
            where TEvents : IEvents
            where TMemory : IMemory
        {
            try
            {
                while (true)
                {
                    var e = await kbd.ReadAsync(cancellationToken).ConfigureAwait(false);
                    // Results on stdout, one line per event, for scripts and the demo.
                    Console.WriteLine(e.Type switch
                    {
                        KbdifConstants.TypeKey => $"fbfront: key {e.Keycode} {(e.Pressed ? "down" : "up")}",
                        KbdifConstants.TypePosition => $"fbfront: position {e.X} {e.Y} {e.Z}",
                        KbdifConstants.TypeMotion => $"fbfront: motion {e.X} {e.Y} {e.Z}",
                        _ => $"fbfront: event type {e.Type}",
                    });
                }
            }
            catch (Exception e) when (e is OperationCanceledException or EventChannelException or IOException)
            {
                // Stopped, or the backend went away.
            }
        }
    }
}
