namespace Vchan;

/// <summary>Where a vchan is in its life, as its peer's live byte says.</summary>
public enum VchanState
{
    /// <summary>A server whose client has not connected yet (the client's live byte is 2).</summary>
    Waiting,

    /// <summary>Both ends are connected.</summary>
    Connected,

    /// <summary>One end has closed or died; bytes already written may still be read.</summary>
    Closed,
}
