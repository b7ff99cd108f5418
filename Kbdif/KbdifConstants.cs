namespace Kbdif;

/// <summary>The constants of <c>xen/include/public/io/kbdif.h</c>, and the Linux input codes its key events carry.</summary>
public static class KbdifConstants
{
    /// <summary>The Xenbus device type (<c>XENKBD_DRIVER_NAME</c>).</summary>
    public const string DeviceType = "vkbd";

    /// <summary><c>XENKBD_TYPE_MOTION</c>: relative pointer movement.</summary>
    public const byte TypeMotion = 1;

    /// <summary><c>XENKBD_TYPE_KEY</c>: a key or button went down or up.</summary>
    public const byte TypeKey = 3;

    /// <summary><c>XENKBD_TYPE_POS</c>: absolute pointer position.</summary>
    public const byte TypePosition = 4;

    /// <summary><c>XENKBD_IN_EVENT_SIZE</c>, <c>XENKBD_OUT_EVENT_SIZE</c>.</summary>
    public const int EventSize = 40;

    /// <summary>Linux's <c>BTN_LEFT</c>: pointer buttons travel as key events.</summary>
    public const uint ButtonLeft = 0x110;

    /// <summary>Linux's <c>BTN_RIGHT</c>.</summary>
    public const uint ButtonRight = 0x111;

    /// <summary>Linux's <c>BTN_MIDDLE</c>.</summary>
    public const uint ButtonMiddle = 0x112;

    /// <summary>Linux's <c>KEY_MAX</c>: key codes above it are refused.</summary>
    public const uint KeyMax = 0x2ff;
}
