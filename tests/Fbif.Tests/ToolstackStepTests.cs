using Kbdif;
using Xen.Store;
using Xen.Store.Server;

namespace Fbif.Tests;

/// <summary>
/// The toolstack's step for vfb and vkbd: Linux's xen-fbfront and xen-kbdfront read the backend's keys
/// when they probe, the moment their directories appear, so the step writes those keys with them.
/// </summary>
public sealed class ToolstackStepTests
{
    private const ushort Guest = 3;

    [Fact]
    public async Task The_backends_keys_are_there_when_the_frontends_directories_appear()
    {
        using var server = new XenstoreServer();
        await using var toolstack = XenstoreClient.Connect(server.Connect());
        await toolstack.MkdirAsync($"/local/domain/{Guest}");
        await toolstack.SetPermissionsAsync($"/local/domain/{Guest}", XsPermissions.Create(Guest));
        var framebuffer = new XenbusDevice(FbifConstants.DeviceType, 0, Guest, 0);
        var keyboard = new XenbusDevice(KbdifConstants.DeviceType, 0, Guest, 0);

        await FbifXenbus.CreateDeviceAsync(toolstack, framebuffer, new FbbackOptions { VideoRamMiB = 4, Width = 1024, Height = 768 }.ToBackendInfo());
        await KbdifXenbus.CreateDeviceAsync(toolstack, keyboard, new KbdifBackendInfo(true, 1024, 768));

        // What the guest's frontends read when they probe: the backend is still Initialising.
        await using var guest = XenstoreClient.Connect(server.Connect(domain: Guest));
        Assert.Equal(XenbusState.Initialising, await Xenbus.ReadStateAsync(guest, framebuffer.BackendPath));
        Assert.Equal(("4", "1024", "768", "1"), (await guest.TryReadAsync(framebuffer.BackendPath + "/videoram"),
            await guest.TryReadAsync(framebuffer.BackendPath + "/width"), await guest.TryReadAsync(framebuffer.BackendPath + "/height"),
            await guest.TryReadAsync(framebuffer.BackendPath + "/feature-resize")));
        Assert.Equal(("1", "1024", "768"), (await guest.TryReadAsync(keyboard.BackendPath + "/feature-abs-pointer"),
            await guest.TryReadAsync(keyboard.BackendPath + "/width"), await guest.TryReadAsync(keyboard.BackendPath + "/height")));
    }
}
