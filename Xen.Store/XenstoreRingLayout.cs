namespace Xen.Store;

/// <summary>
/// The shared Xenstore page of a guest (<c>struct xenstore_domain_interface</c>): a request byte ring
/// the guest writes, a response byte ring the daemon writes, their indices and the status words.
/// </summary>
public static class XenstoreRingLayout
{
    /// <summary>Offset of <c>req[1024]</c>.</summary>
    public const int Req = 0;
    /// <summary>Offset of <c>rsp[1024]</c>.</summary>
    public const int Rsp = 1024;
    /// <summary>Offset of <c>req_cons</c>.</summary>
    public const int ReqCons = 2048;
    /// <summary>Offset of <c>req_prod</c>.</summary>
    public const int ReqProd = 2052;
    /// <summary>Offset of <c>rsp_cons</c>.</summary>
    public const int RspCons = 2056;
    /// <summary>Offset of <c>rsp_prod</c>.</summary>
    public const int RspProd = 2060;
    /// <summary>Offset of <c>server_features</c>.</summary>
    public const int ServerFeatures = 2064;
    /// <summary>Offset of <c>connection</c>.</summary>
    public const int Connection = 2068;
    /// <summary>Offset of <c>error</c>.</summary>
    public const int Error = 2072;
    /// <summary>The structure's size.</summary>
    public const int Size = 2076;
}
