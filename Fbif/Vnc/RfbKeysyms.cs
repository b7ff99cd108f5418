namespace Fbif.Vnc;

/// <summary>
/// X keysyms (what RFB's KeyEvent carries) to Linux input key codes (what kbdif's key event carries)
/// for a US keyboard's common keys. A shifted symbol maps to its key; the client sends Shift itself.
/// </summary>
public static class RfbKeysyms
{
    private static readonly Dictionary<uint, uint> Table = Build();

    /// <summary>The Linux key code for <paramref name="keysym"/>, or null for a key not in the table.</summary>
    public static uint? ToLinuxKeycode(uint keysym) => Table.TryGetValue(keysym, out var code) ? code : null;

    private static Dictionary<uint, uint> Build()
    {
        var table = new Dictionary<uint, uint>();
        // Rows of a US keyboard and their Linux codes (linux/input-event-codes.h).
        void Row(string plain, string shifted, uint firstCode)
        {
            for (var i = 0; i < plain.Length; i++)
            {
                table[plain[i]] = firstCode + (uint)i;
                if (i < shifted.Length)
                    table[shifted[i]] = firstCode + (uint)i;
            }
        }
        Row("1234567890-=", "!@#$%^&*()_+", 2);
        Row("qwertyuiop[]", "QWERTYUIOP{}", 16);
        Row("asdfghjkl;'`", "ASDFGHJKL:\"~", 30);
        Row("\\zxcvbnm,./", "|ZXCVBNM<>?", 43);
        table[' '] = 57;
        (uint Keysym, uint Code)[] named =
        [
            (0xff08, 14), (0xff09, 15), (0xff0d, 28), (0xff1b, 1), (0xffff, 111), // BackSpace Tab Return Escape Delete
            (0xffe1, 42), (0xffe2, 54), (0xffe3, 29), (0xffe4, 97), (0xffe9, 56), (0xffea, 100), // Shift Control Alt, left and right
            (0xff50, 102), (0xff57, 107), (0xff55, 104), (0xff56, 109), (0xff63, 110), // Home End Prior Next Insert
            (0xff51, 105), (0xff52, 103), (0xff53, 106), (0xff54, 108), // Left Up Right Down
            (0xffe5, 58), (0xff8d, 96), // Caps_Lock KP_Enter
        ];
        foreach (var (keysym, code) in named)
            table[keysym] = code;
        uint[] functionKeys = [59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 87, 88];
        for (var i = 0; i < functionKeys.Length; i++)
            table[0xffbeu + (uint)i] = functionKeys[i];
        return table;
    }
}
