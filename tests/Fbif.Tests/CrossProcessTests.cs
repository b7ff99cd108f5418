using System.Diagnostics;
using TestSupport;
using Xen.Gnt;
using Xen.Gnt.Unix;
using Xen.Unix;

namespace Fbif.Tests;

/// <summary>The framebuffer between real processes: the Unix frames convention, and the demo's step with its VNC client.</summary>
public sealed class CrossProcessTests
{
    [Fact]
    public void Unix_frames_of_one_domain_map_in_domain_0()
    {
        var root = Directory.CreateTempSubdirectory("fbif-frames-").FullName;
        try
        {
            using var front = UnixDomain.Open(new UnixDomainOptions { Domain = 7, Root = root });
            using var back = UnixDomain.Open(new UnixDomainOptions { Domain = 0, Root = root });
            using var pages = front.Frames.Allocate(2);
            pages.Span[4096 + 3] = 77;
            using var view = back.Frames.MapForeign(7, [pages.Frames[1]], writable: false);
            Assert.Equal(77, view.ReadOnlySpan[3]);
            Assert.True(File.Exists(Path.Combine(root, "7", UnixFrames.FileName)));
            var e = Assert.Throws<FrameException>(() => back.Frames.MapForeign(7, [pages.Frames[1] + 100], writable: false));
            Assert.Contains("is not domain 7's memory", e.Message);
            Assert.Throws<FrameException>(() => front.Frames.MapForeign(0, [1], writable: false));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task The_demo_shows_the_frontends_screen_over_VNC_and_types_into_it()
    {
        var folder = Directory.CreateTempSubdirectory("fbif-demo-").FullName;
        try
        {
            var png = Path.Combine(folder, "screen.png");
            var info = MirageCli.StartInfo(["demo", "--only", "framebuffer", "--png", png]);
            info.RedirectStandardOutput = true;
            info.RedirectStandardError = true;
            using var demo = Process.Start(info)!;
            var output = demo.StandardOutput.ReadToEndAsync();
            var errors = demo.StandardError.ReadToEndAsync();
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await demo.WaitForExitAsync(bound.Token);
            var text = await output + await errors;
            Assert.True(demo.ExitCode == 0, text);
            Assert.Contains("fbfront: key 45 down", text);
            var bytes = await File.ReadAllBytesAsync(png);
            Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, bytes[..4]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
