using System.Reflection;
using System.Reflection.Emit;

namespace Architecture.Tests;

/// <summary>Reads a method body's instructions, enough to see which fields it touches.</summary>
internal static class Il
{
    private static readonly OpCode[] OneByte = new OpCode[256];
    private static readonly OpCode[] TwoByte = new OpCode[256];

    static Il()
    {
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var op = (OpCode)field.GetValue(null)!;
            var value = (ushort)op.Value;
            if (value < 0x100)
                OneByte[value] = op;
            else
                TwoByte[value & 0xff] = op;
        }
    }

    private const BindingFlags Everything =
        BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    /// <summary>Every field that a method or constructor of <paramref name="type"/> loads, stores or takes the address of.</summary>
    public static IEnumerable<(MethodBase Method, FieldInfo Field)> FieldsTouched(Type type)
    {
        foreach (var method in type.GetMethods(Everything).Cast<MethodBase>().Concat(type.GetConstructors(Everything)))
        {
            var body = method.GetMethodBody()?.GetILAsByteArray();
            if (body is null)
                continue;
            var typeArguments = type.IsGenericType ? type.GetGenericArguments() : null;
            var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
            for (var i = 0; i < body.Length;)
            {
                var op = body[i] == 0xfe ? TwoByte[body[++i]] : OneByte[body[i]];
                i++;
                if (op.OperandType == OperandType.InlineField)
                    yield return (method, method.Module.ResolveField(BitConverter.ToInt32(body, i), typeArguments, methodArguments)!);
                i += OperandSize(op, body, i);
            }
        }
    }

    private static int OperandSize(OpCode op, byte[] body, int at) => op.OperandType switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(body, at),
        _ => 4,
    };
}
