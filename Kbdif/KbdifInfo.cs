using Xen.Evtchn;
using Xen.Gnt;

namespace Kbdif;

/// <summary>What a keyboard backend publishes: <c>feature-abs-pointer</c>, and <c>width</c>/<c>height</c>, the range of absolute positions.</summary>
public sealed record KbdifBackendInfo(bool FeatureAbsPointer = true, int Width = 800, int Height = 600);

/// <summary>What a keyboard frontend publishes.</summary>
/// <param name="PageGref"><c>page-gref</c>: a grant of the shared page; null when only <c>page-ref</c> is given.</param>
/// <param name="PageRef"><c>page-ref</c>: the page's frame number (obsolete, but what older frontends give); null for none.</param>
/// <param name="EventChannel"><c>event-channel</c>.</param>
/// <param name="RequestAbsPointer"><c>request-abs-pointer</c>: the frontend wants positions, not motions.</param>
public sealed record KbdifFrontendInfo(GrantRef? PageGref, ulong? PageRef, Port EventChannel, bool RequestAbsPointer);
