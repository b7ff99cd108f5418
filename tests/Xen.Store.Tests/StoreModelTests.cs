using System.Collections.Immutable;
using System.Text;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;
using Xen.Store.Server;

namespace Xen.Store.Tests;

/// <summary>
/// Model-based test of the store: random writes, mkdirs, removals, reads, listings and transactions
/// (with a competing write from another client in the middle) against a plain dictionary model.
/// After every step the whole tree, every result, and the events of a watch on <c>/m</c> must match.
/// </summary>
public class StoreModelTests
{
    [Fact]
    public void The_store_behaves_like_its_model() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), new StoreMachine().ToProperty());

    /// <summary>What the last operation should have produced.</summary>
    internal sealed record Expect(string[] Results, string[] Events);

    /// <summary>The model: every node under /m with its value (the root /m included).</summary>
    internal sealed record Model(ImmutableSortedDictionary<string, string> Nodes, Expect Last)
    {
        public override string ToString() => string.Join(' ', Nodes.Select(kv => kv.Key + "=" + kv.Value));
    }

    /// <summary>One request: what it does to the model and what it answers.</summary>
    internal sealed record Step(string Kind, string Path, string Value = "")
    {
        public override string ToString() => Kind == "write" ? $"{Kind} {Path}={Value}" : $"{Kind} {Path}";

        /// <summary>Applies the step; returns the result, the event paths, and the paths whose generation changes.</summary>
        public (string Result, string[] Events, string[] Touched) Apply(ref ImmutableSortedDictionary<string, string> nodes)
        {
            switch (Kind)
            {
                case "read":
                    return (nodes.TryGetValue(Path, out var v) ? "V:" + v : "E:ENOENT", [], []);
                case "dir":
                    return (nodes.ContainsKey(Path) ? "D:" + string.Join(',', Children(nodes, Path)) : "E:ENOENT", [], []);
                case "write":
                case "mkdir":
                {
                    if (nodes.ContainsKey(Path))
                    {
                        if (Kind == "mkdir")
                            return ("OK", [], []);
                        nodes = nodes.SetItem(Path, Value);
                        return ("OK", [Path], [Path]);
                    }
                    var touched = new List<string>();
                    var p = Path;
                    while (!nodes.ContainsKey(p))
                    {
                        touched.Add(p);
                        nodes = nodes.Add(p, p == Path && Kind == "write" ? Value : "");
                        p = Parent(p);
                    }
                    touched.Add(p);
                    return ("OK", [Path], [.. touched]);
                }
                case "rm":
                {
                    if (!nodes.ContainsKey(Path))
                        return (nodes.ContainsKey(Parent(Path)) ? "OK" : "E:ENOENT", [], []);
                    var gone = nodes.Keys.Where(k => k == Path || k.StartsWith(Path + "/", StringComparison.Ordinal)).ToList();
                    nodes = nodes.RemoveRange(gone);
                    return ("OK", [Path], [.. gone, Parent(Path)]);
                }
                default:
                    throw new InvalidOperationException(Kind);
            }
        }

        /// <summary>The paths the daemon looks at for this step: what a concurrent change must not touch.</summary>
        public string[] Seen(ImmutableSortedDictionary<string, string> nodes)
        {
            if (Kind is "read" or "dir")
                return [Path];
            if (Kind == "rm")
                return [Path, Parent(Path)];
            var seen = new List<string>();
            var p = Path;
            while (!nodes.ContainsKey(p))
            {
                seen.Add(p);
                p = Parent(p);
            }
            seen.Add(p);
            return [.. seen];
        }

        public string Run(XenstoreOperations store)
        {
            try
            {
                switch (Kind)
                {
                    case "read":
                        return "V:" + store.ReadAsync(Path).GetAwaiter().GetResult();
                    case "dir":
                        return "D:" + string.Join(',', store.DirectoryAsync(Path).GetAwaiter().GetResult());
                    case "write":
                        store.WriteAsync(Path, Value).GetAwaiter().GetResult();
                        return "OK";
                    case "mkdir":
                        store.MkdirAsync(Path).GetAwaiter().GetResult();
                        return "OK";
                    default:
                        store.RmAsync(Path).GetAwaiter().GetResult();
                        return "OK";
                }
            }
            catch (XenstoreException e)
            {
                return "E:" + e.Error;
            }
        }

        private static IEnumerable<string> Children(ImmutableSortedDictionary<string, string> nodes, string path) =>
            nodes.Keys.Where(k => k.StartsWith(path + "/", StringComparison.Ordinal) && k.IndexOf('/', path.Length + 1) < 0)
                .Select(k => k[(path.Length + 1)..]).Order(StringComparer.Ordinal);
    }

    private static string Parent(string path) => path[..path.LastIndexOf('/')];

    /// <summary>The real thing: a server, the client under test, a competing client, and a raw watcher on /m.</summary>
    internal sealed class Actual : IDisposable
    {
        public Actual()
        {
            Server = new XenstoreServer();
            Client = XenstoreClient.Connect(Server.Connect());
            Other = XenstoreClient.Connect(Server.Connect());
            Client.MkdirAsync("/m").GetAwaiter().GetResult();
            Watcher = new Raw(Server.Connect());
            Watcher.SendAsync(XsMessageType.Watch, Raw.Args("/m", "w"), 1).GetAwaiter().GetResult();
            Drain();
        }

        public XenstoreServer Server { get; }

        public XenstoreClient Client { get; }

        public XenstoreClient Other { get; }

        public Raw Watcher { get; }

        /// <summary>The watch events queued for the watcher so far (a round trip proves there are no more).</summary>
        public string[] Drain()
        {
            Watcher.SendAsync(XsMessageType.GetDomainPath, Raw.Args("0"), 99).GetAwaiter().GetResult();
            var events = new List<string>();
            while (true)
            {
                var m = Watcher.ReceiveAsync().GetAwaiter().GetResult() ?? throw new InvalidOperationException("watcher closed");
                if (m.Header.Type == XsMessageType.WatchEvent)
                    events.Add(Encoding.ASCII.GetString(m.Payload).Split('\0')[0]);
                else if (m.Header.ReqId == 99)
                    return [.. events];
            }
        }

        public ImmutableSortedDictionary<string, string> Dump()
        {
            var nodes = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
            void Walk(string path)
            {
                nodes.Add(path, Other.ReadAsync(path).GetAwaiter().GetResult());
                foreach (var child in Other.DirectoryAsync(path).GetAwaiter().GetResult())
                    Walk(path + "/" + child);
            }
            Walk("/m");
            return nodes.ToImmutable();
        }

        public void Dispose()
        {
            Watcher.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Client.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Other.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Server.Dispose();
        }
    }

    private static Property Matches(Actual actual, Model model, string[] results)
    {
        var events = actual.Drain();
        var tree = actual.Dump();
        var ok = results.SequenceEqual(model.Last.Results) && events.SequenceEqual(model.Last.Events) && tree.SequenceEqual(model.Nodes);
        return ok.Label($"results [{string.Join(" | ", results)}] expected [{string.Join(" | ", model.Last.Results)}]; "
            + $"events [{string.Join(' ', events)}] expected [{string.Join(' ', model.Last.Events)}]; "
            + $"tree [{string.Join(' ', tree.Select(kv => kv.Key + "=" + kv.Value))}] expected [{string.Join(' ', model.Nodes.Select(kv => kv.Key + "=" + kv.Value))}]");
    }

    private sealed class Single(Step step) : Operation<Actual, Model>
    {
        public override Model Run(Model model)
        {
            var nodes = model.Nodes;
            var (result, events, _) = step.Apply(ref nodes);
            return new Model(nodes, new Expect([result], events));
        }

        public override Property Check(Actual actual, Model model) => Matches(actual, model, [step.Run(actual.Client)]);

        public override string ToString() => step.ToString();
    }

    /// <summary>A transaction of several steps; after them another client runs <paramref name="competing"/>, then the transaction commits or aborts.</summary>
    private sealed class Transaction(Step[] steps, Step? competing, bool commit) : Operation<Actual, Model>
    {
        public override Model Run(Model model)
        {
            var results = new List<string>();
            var view = model.Nodes;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var s in steps)
            {
                seen.UnionWith(s.Seen(view));
                results.Add(s.Apply(ref view).Result);
            }
            var nodes = model.Nodes;
            var events = new List<string>();
            var touched = Array.Empty<string>();
            if (competing is not null)
            {
                var (_, e, t) = competing.Apply(ref nodes);
                events.AddRange(e);
                touched = t;
            }
            if (!commit)
            {
                results.Add("OK");
            }
            else if (touched.Any(seen.Contains))
            {
                results.Add("E:EAGAIN");
            }
            else
            {
                // Committed: as if it ran after the competing step, firing its changes in order.
                foreach (var s in steps)
                    events.AddRange(s.Apply(ref nodes).Events);
                results.Add("OK");
            }
            return new Model(nodes, new Expect([.. results], [.. events]));
        }

        public override Property Check(Actual actual, Model model)
        {
            var start = actual.Client.RequestAsync(XsMessageType.TransactionStart, [0], 0, default).GetAwaiter().GetResult();
            var tx = new XenstoreTransaction(actual.Client, uint.Parse(Encoding.ASCII.GetString(start).TrimEnd('\0')));
            var results = steps.Select(s => s.Run(tx)).ToList();
            competing?.Run(actual.Other);
            try
            {
                actual.Client.RequestAsync(XsMessageType.TransactionEnd, commit ? "T\0"u8.ToArray() : "F\0"u8.ToArray(), tx.Id, default).GetAwaiter().GetResult();
                results.Add("OK");
            }
            catch (XenstoreException e)
            {
                results.Add("E:" + e.Error);
            }
            return Matches(actual, model, [.. results]);
        }

        public override string ToString() =>
            $"tx[{string.Join("; ", steps.Select(s => s.ToString()))}] competing[{competing}] {(commit ? "commit" : "abort")}";
    }

    private sealed class StoreMachine : Machine<Actual, Model>
    {
        private static readonly Gen<string> Paths =
            from depth in Gen.Choose(1, 3)
            from segments in Gen.ArrayOf(Gen.Elements("a", "b", "c"), depth)
            select "/m/" + string.Join('/', segments);

        private static readonly Gen<Step> Steps =
            from kind in Gen.Frequency(
                (4, Gen.Constant("write")), (2, Gen.Constant("mkdir")), (2, Gen.Constant("rm")),
                (2, Gen.Constant("read")), (1, Gen.Constant("dir")))
            from path in Gen.Frequency((9, Paths), (1, Gen.Constant("/m")))
            from value in Gen.Elements("", "0", "1", "xyz")
            where !(kind == "rm" && path == "/m")
            select new Step(kind, path, value);

        public StoreMachine()
            : base(25)
        {
        }

        public override Arbitrary<Setup<Actual, Model>> Setup => Arb.From(Gen.Constant<Setup<Actual, Model>>(new StoreSetup()));

        public override TearDown<Actual> TearDown => new Cleanup();

        public override Gen<Operation<Actual, Model>> Next(Model model) =>
            Gen.Frequency(
                (5, Steps.Select(s => (Operation<Actual, Model>)new Single(s))),
                (2, from steps in Gen.ArrayOf(Steps, 3)
                    from competing in Gen.Frequency((3, Steps.Select(s => (Step?)s)), (1, Gen.Constant<Step?>(null)))
                    from commit in Gen.Frequency((4, Gen.Constant(true)), (1, Gen.Constant(false)))
                    select (Operation<Actual, Model>)new Transaction(steps, competing, commit)));
    }

    private sealed class StoreSetup : Setup<Actual, Model>
    {
        public override Actual Actual() => new();

        public override Model Model() =>
            new(ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal).Add("/m", ""), new Expect([], []));
    }

    private sealed class Cleanup : TearDown<Actual>
    {
        public override void Actual(Actual actual) => actual.Dispose();
    }
}
