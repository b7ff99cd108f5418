using System.Globalization;

namespace Mirage.Cli.Commands;

/// <summary>
/// Two parties that talk to each other: started in order (each waits for the one before to say it
/// started), up once the last says it is ready, and restarted together as a new generation after one
/// of them is killed. The Xenstore pair restarts only the party that died.
/// </summary>
internal sealed class SoakPair
{
    private readonly Func<SoakPair, int, SoakParty>[] _starters;
    private readonly SoakParty?[] _parties;

    public SoakPair(string name, string[] roles, params Func<SoakPair, int, SoakParty>[] starters)
    {
        Name = name;
        Roles = roles;
        _starters = starters;
        _parties = new SoakParty?[starters.Length];
    }

    public string Name { get; }

    /// <summary>The parties' names, in start order.</summary>
    public string[] Roles { get; }

    /// <summary>The generation of the parties now running; a new one at each restart of the pair.</summary>
    public int Generation { get; private set; }

    public bool IsUp { get; private set; }

    public SoakParty? Party(int index) => _parties[index];

    public IEnumerable<SoakParty> Running => _parties.OfType<SoakParty>();

    /// <summary>Starts every party not running, in order, under a new generation; waits until the last is ready.</summary>
    public async Task StartAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        IsUp = false;
        Generation++;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        for (var i = 0; i < _parties.Length; i++)
        {
            if (_parties[i] is not null)
                continue;
            var party = _parties[i] = _starters[i](this, Generation);
            await party.Started.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        await _parties[^1]!.Ready.WaitAsync(deadline.Token).ConfigureAwait(false);
        IsUp = true;
    }

    /// <summary>Forgets a party that has exited and whose lines are all read.</summary>
    public void Forget(SoakParty party)
    {
        var i = Array.IndexOf(_parties, party);
        if (i >= 0)
            _parties[i] = null;
        IsUp = false;
    }

    public override string ToString() => Name + " generation " + Generation.ToString(CultureInfo.InvariantCulture);
}
