namespace Xen.Evtchn;

/// <summary>
/// An event-channel port number as Xen's <c>evtchn_port_t</c>: the number a listener publishes out
/// of band (usually in Xenstore) so that the peer can connect to it.
/// </summary>
/// <param name="Value">The port number.</param>
public readonly record struct Port(uint Value)
{
    /// <summary>Formats the port as Xenstore holds it: a decimal number.</summary>
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Parses a port as Xenstore holds it.</summary>
    /// <exception cref="FormatException">The text is not a decimal 32-bit number.</exception>
    public static Port Parse(string text) =>
        uint.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? new Port(value)
            : throw new FormatException($"'{text}' is not an event-channel port number.");
}
