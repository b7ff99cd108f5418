namespace Xen.Unix.Tests;

/// <summary>
/// Tests that check nothing is left under their root, with no other test beside them. A domain folder is
/// reclaimed at dispose only if no one else holds its lock file, and a process another test starts holds
/// a copy of every descriptor of this one from its fork until its exec: a dispose inside that window
/// leaves the folder to the next process's reclaim, and the check would see it.
/// </summary>
[CollectionDefinition(nameof(NoForksBeside), DisableParallelization = true)]
public sealed class NoForksBeside;
