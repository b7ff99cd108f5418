using Fbif.Vnc;
using Kbdif;
using Xen.Evtchn;
using Xen.Gnt;

namespace Mirage.Cli.Commands;

/// <summary>
/// A VNC client's keys and pointer sent to the guest through kbdif: keysyms become Linux key codes,
/// buttons become <c>BTN_LEFT</c>/<c>BTN_MIDDLE</c>/<c>BTN_RIGHT</c> key events, the wheel a z step, and
/// the pointer an absolute position (or a motion, for a frontend that did not ask for positions).
/// Input that arrives before the keyboard connects has nowhere to go and is dropped.
/// </summary>
internal sealed class KbdifVncInput<TEvents, TMemory> : IVncInput
    where TEvents : IEvents
    where TMemory : IMemory
{
    private static readonly (byte Bit, uint Code)[] Buttons = [(1, KbdifConstants.ButtonLeft), (2, KbdifConstants.ButtonMiddle), (4, KbdifConstants.ButtonRight)];
    private Kbdback<TEvents, TMemory, IForeignFrames>? _keyboard;
    private byte _buttons;
    private int _x, _y;

    public void Attach(Kbdback<TEvents, TMemory, IForeignFrames> keyboard) => Volatile.Write(ref _keyboard, keyboard);

    public async ValueTask KeyAsync(bool down, uint keysym, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _keyboard) is not { } keyboard || RfbKeysyms.ToLinuxKeycode(keysym) is not { } code)
            return;
        await keyboard.SendAsync(KbdifEvent.Key(code, down), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask PointerAsync(byte buttons, int x, int y, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _keyboard) is not { } keyboard)
            return;
        // Bits 3 and 4 are the wheel turning up and down, one step per press.
        var z = (buttons & 8) != 0 && (_buttons & 8) == 0 ? -1 : (buttons & 16) != 0 && (_buttons & 16) == 0 ? 1 : 0;
        if (x != _x || y != _y || z != 0)
        {
            await keyboard.SendAsync(keyboard.AbsolutePointer ? KbdifEvent.Position(x, y, z) : KbdifEvent.Motion(x - _x, y - _y, z), cancellationToken).ConfigureAwait(false);
            (_x, _y) = (x, y);
        }
        foreach (var (bit, code) in Buttons)
        {
            if (((buttons ^ _buttons) & bit) != 0)
                await keyboard.SendAsync(KbdifEvent.Key(code, (buttons & bit) != 0), cancellationToken).ConfigureAwait(false);
        }
        _buttons = buttons;
    }
}
