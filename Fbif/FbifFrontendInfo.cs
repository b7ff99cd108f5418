using Xen.Evtchn;

namespace Fbif;

/// <summary>What a framebuffer frontend publishes under <c>device/vfb/&lt;device&gt;/</c>.</summary>
/// <param name="PageRef"><c>page-ref</c>: the frame number of the shared page (not a grant ref).</param>
/// <param name="EventChannel"><c>event-channel</c>: the port the frontend listens on.</param>
/// <param name="Protocol"><c>protocol</c>: the page's ABI.</param>
/// <param name="FeatureUpdate"><c>feature-update</c>: the frontend sends update events when asked to.</param>
public sealed record FbifFrontendInfo(ulong PageRef, Port EventChannel, string Protocol = FbifConstants.ProtocolX86_64, bool FeatureUpdate = true)
{
    /// <summary>Checks what a (possibly hostile) frontend published.</summary>
    /// <exception cref="InvalidDataException">The protocol is not served or the page is frame 0.</exception>
    public void Validate()
    {
        if (Protocol != FbifConstants.ProtocolX86_64)
            throw new InvalidDataException($"protocol '{Protocol}' is not served; only '{FbifConstants.ProtocolX86_64}' is.");
        if (PageRef == 0)
            throw new InvalidDataException("page-ref is 0, which names no page.");
    }
}
