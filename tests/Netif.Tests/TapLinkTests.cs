using Netif.Links;
namespace Netif.Tests;

/// <summary>What a TAP link does with a frame the kernel will not take.</summary>
public sealed class TapLinkTests
{
    private static readonly byte[] Frame = TestFrames.Make(60, 1);

    private static string Name(string tag) => $"mtl{tag}{Environment.ProcessId % 100000}";

    [RootFact]
    public void A_frame_written_while_the_interface_is_down_is_dropped_and_counted()
    {
        using var link = TapLink.Open(Name("d"));
        Assert.True(link.TryWrite(Frame, default));
        Assert.Equal(1, link.WriteErrors);
    }

    [RootFact]
    public void Writing_to_a_deleted_interface_is_an_error()
    {
        var name = Name("x");
        using var link = TapLink.Open(name);
        var deleted = Shell.Run($"ip link del {name}");
        Assert.True(deleted.Code == 0, deleted.Output);
        var e = Assert.Throws<IOException>(() => link.TryWrite(Frame, default));
        Assert.Contains(name, e.Message);
    }
}
