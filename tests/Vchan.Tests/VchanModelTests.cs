using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;

namespace Vchan.Tests;

/// <summary>
/// Model-based tests: random reads, partial writes and closes on both ends, checked against a model
/// of two byte queues bounded by the ring sizes. Bytes carry their stream position (hashed), so a
/// byte out of order, lost, doubled or misplaced in a wrap shows.
/// </summary>
public class VchanModelTests
{
    [Theory]
    [InlineData(0, 0, 10, 11, 100)]
    [InlineData(2048, 1024, 11, 10, 100)]
    [InlineData(4096, 4096, 12, 12, 100)]
    [InlineData(8192, 65536, 13, 16, 60)]
    [InlineData(1 << 20, 1 << 20, 20, 20, 20)]
    public void Both_ends_behave_as_two_bounded_byte_queues(int leftMin, int rightMin, int leftOrder, int rightOrder, int tests)
    {
        Assert.Equal((leftOrder, rightOrder), VchanOrders.Choose(leftMin, rightMin));
        var machine = new VchanMachine(leftMin, rightMin, 1 << leftOrder, 1 << rightOrder);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(tests), machine.ToProperty());
    }
}

/// <summary>The model: how far each direction has been written and read, and who has closed.</summary>
internal sealed record VchanModel(int LeftSize, int RightSize, long UpWritten, long UpRead, long DownWritten, long DownRead,
    bool ServerClosed, bool ClientClosed)
{
    // "Up" is client to server (the left ring), "down" server to client (the right ring).
    public bool Closed(bool server) => server ? ServerClosed : ClientClosed;

    public long Unread(bool server) => server ? UpWritten - UpRead : DownWritten - DownRead;

    public long Space(bool server) => server ? RightSize - (DownWritten - DownRead) : LeftSize - (UpWritten - UpRead);

    public long WritePosition(bool server) => server ? DownWritten : UpWritten;

    public long ReadPosition(bool server) => server ? UpRead : DownRead;

    public static byte Pattern(bool down, long position)
    {
        var x = (ulong)position * 2 + (down ? 1UL : 0UL);
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdUL;
        x ^= x >> 33;
        return (byte)x;
    }
}

internal sealed class VchanMachine(int leftMin, int rightMin, int leftSize, int rightSize) : Machine<VchanPair, VchanModel>(40)
{
    public override Arbitrary<Setup<VchanPair, VchanModel>> Setup =>
        Gen.Constant((Setup<VchanPair, VchanModel>)new PairSetup(leftMin, rightMin, leftSize, rightSize)).ToArbitrary();

    public override TearDown<VchanPair> TearDown => new PairTearDown();

    public override Gen<Operation<VchanPair, VchanModel>> Next(VchanModel model)
    {
        var sides = new[] { true, false }.Where(s => !model.Closed(s)).ToArray();
        var side = Gen.Elements(sides);
        var ops = new List<(int, Gen<Operation<VchanPair, VchanModel>>)>
        {
            (4, side.SelectMany(s => Length(s ? rightSize : leftSize), (s, n) => (Operation<VchanPair, VchanModel>)new WriteOp(s, n))),
            (4, side.SelectMany(s => Length(s ? leftSize : rightSize), (s, n) => (Operation<VchanPair, VchanModel>)new ReadOp(s, n))),
        };
        if (!model.ServerClosed && !model.ClientClosed)
            ops.Add((1, side.Select(s => (Operation<VchanPair, VchanModel>)new CloseOp(s))));
        foreach (var s in sides.Where(s => model.Closed(!s) && model.Unread(s) == 0))
            ops.Add((2, Gen.Constant((Operation<VchanPair, VchanModel>)new ReadEndOp(s))));
        return Gen.Frequency(ops.ToArray());
    }

    private static Gen<int> Length(int ring) =>
        Gen.Frequency((3, Gen.Choose(1, 16)), (3, Gen.Choose(1, Math.Max(1, ring / 4))), (2, Gen.Choose(ring / 2, ring * 3 / 2)));

    private sealed class PairSetup(int leftMin, int rightMin, int leftSize, int rightSize) : Setup<VchanPair, VchanModel>
    {
        public override VchanPair Actual() => VchanPair.Create(leftMin, rightMin);

        public override VchanModel Model() => new(leftSize, rightSize, 0, 0, 0, 0, false, false);

        public override string ToString() => $"vchan with rings of {leftSize} and {rightSize}";
    }

    private sealed class PairTearDown : TearDown<VchanPair>
    {
        public override void Actual(VchanPair actual) => actual.Dispose();
    }
}

internal sealed class WriteOp(bool server, int length) : Operation<VchanPair, VchanModel>
{
    private long _start;
    private int _expected;

    public override bool Pre(VchanModel model) => !model.Closed(server);

    public override VchanModel Run(VchanModel model)
    {
        _start = model.WritePosition(server);
        if (model.Closed(!server))
        {
            _expected = -1;
            return model;
        }
        _expected = (int)Math.Min(length, model.Space(server));
        return server ? model with { DownWritten = model.DownWritten + _expected } : model with { UpWritten = model.UpWritten + _expected };
    }

    public override Property Check(VchanPair actual, VchanModel model)
    {
        var data = new byte[length];
        for (var i = 0; i < length; i++)
            data[i] = VchanModel.Pattern(server, _start + i);
        if (_expected < 0)
        {
            var e = Record.Exception(() => actual.End(server).TryWrite(data));
            return (e is IOException).Label($"writing to a closed peer threw {e?.GetType().Name ?? "nothing"}");
        }
        var n = actual.End(server).TryWrite(data);
        return (n == _expected).Label($"wrote {n}, model says {_expected}");
    }

    public override string ToString() => $"{(server ? "server" : "client")}.TryWrite({length})";
}

internal sealed class ReadOp(bool server, int max) : Operation<VchanPair, VchanModel>
{
    private long _start;
    private int _expected;

    public override bool Pre(VchanModel model) => !model.Closed(server);

    public override VchanModel Run(VchanModel model)
    {
        _start = model.ReadPosition(server);
        _expected = (int)Math.Min(max, model.Unread(server));
        return server ? model with { UpRead = model.UpRead + _expected } : model with { DownRead = model.DownRead + _expected };
    }

    public override Property Check(VchanPair actual, VchanModel model)
    {
        var buffer = new byte[max];
        var n = actual.End(server).TryRead(buffer);
        if (n != _expected)
            return false.Label($"read {n}, model says {_expected}");
        for (var i = 0; i < n; i++)
        {
            if (buffer[i] != VchanModel.Pattern(!server, _start + i))
                return false.Label($"byte {_start + i} differs");
        }
        return true.ToProperty();
    }

    public override string ToString() => $"{(server ? "server" : "client")}.TryRead({max})";
}

internal sealed class CloseOp(bool server) : Operation<VchanPair, VchanModel>
{
    public override bool Pre(VchanModel model) => !model.ServerClosed && !model.ClientClosed;

    public override VchanModel Run(VchanModel model) => server ? model with { ServerClosed = true } : model with { ClientClosed = true };

    public override Property Check(VchanPair actual, VchanModel model)
    {
        actual.End(server).Dispose();
        return (actual.End(!server).State == VchanState.Closed).Label("the peer sees the close");
    }

    public override string ToString() => $"{(server ? "server" : "client")}.Dispose()";
}

internal sealed class ReadEndOp(bool server) : Operation<VchanPair, VchanModel>
{
    public override bool Pre(VchanModel model) => !model.Closed(server) && model.Closed(!server) && model.Unread(server) == 0;

    public override VchanModel Run(VchanModel model) => model;

    public override Property Check(VchanPair actual, VchanModel model) =>
        (actual.End(server).Read(new byte[16]) == 0).Label("a drained vchan whose peer closed reads the end");

    public override string ToString() => $"{(server ? "server" : "client")}.Read() at the end";
}
