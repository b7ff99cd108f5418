namespace Fbif.Vnc;

/// <summary>The numbers of RFC 6143 (The Remote Framebuffer Protocol) the server speaks.</summary>
public static class RfbConstants
{
    /// <summary>The ProtocolVersion message of RFB 3.8.</summary>
    public const string Version38 = "RFB 003.008\n";

    /// <summary>Security type None.</summary>
    public const byte SecurityNone = 1;

    /// <summary>Client message: SetPixelFormat.</summary>
    public const byte SetPixelFormat = 0;

    /// <summary>Client message: SetEncodings.</summary>
    public const byte SetEncodings = 2;

    /// <summary>Client message: FramebufferUpdateRequest.</summary>
    public const byte FramebufferUpdateRequest = 3;

    /// <summary>Client message: KeyEvent.</summary>
    public const byte KeyEvent = 4;

    /// <summary>Client message: PointerEvent.</summary>
    public const byte PointerEvent = 5;

    /// <summary>Client message: ClientCutText.</summary>
    public const byte ClientCutText = 6;

    /// <summary>Server message: FramebufferUpdate.</summary>
    public const byte FramebufferUpdate = 0;

    /// <summary>Encoding Raw.</summary>
    public const int EncodingRaw = 0;

    /// <summary>Encoding zlib (RFC 6143 7.7.x lists it as 6; one zlib stream per connection).</summary>
    public const int EncodingZlib = 6;

    /// <summary>Pseudo-encoding DesktopSize.</summary>
    public const int EncodingDesktopSize = -223;

    /// <summary>The most encodings a SetEncodings may list before the server calls it garbage.</summary>
    public const int MaxEncodings = 1024;

    /// <summary>The longest ClientCutText the server reads (and drops) before it calls it garbage.</summary>
    public const int MaxCutText = 1 << 20;
}
