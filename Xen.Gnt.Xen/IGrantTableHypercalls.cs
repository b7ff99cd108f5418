namespace Xen.Gnt.Xen;

/// <summary>
/// The grant-table hypercall as a host supplies it: <c>HYPERVISOR_grant_table_op(cmd, uop, count)</c>.
/// A host on real Xen implements it with its hypercall page; the test project's simulated
/// hypervisor implements it in process.
/// </summary>
public interface IGrantTableHypercalls
{
    /// <summary>
    /// Issues <c>GNTTABOP_*</c> command <paramref name="cmd"/> (see <see cref="GrantTableAbi"/>) on an array
    /// of <paramref name="count"/> argument structs at <paramref name="uop"/> (<see cref="GnttabMapGrantRef"/>,
    /// <see cref="GnttabUnmapGrantRef"/>, <see cref="GnttabSetupTable"/>); each element's <c>status</c>
    /// says how it went.
    /// </summary>
    /// <returns>0 once every element has its status, or Xen's negative errno if the call itself failed.</returns>
    unsafe int GrantTableOp(int cmd, void* uop, uint count);
}
