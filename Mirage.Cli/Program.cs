using System.CommandLine;
using Mirage.Cli;
using Mirage.Cli.Commands;

ParentWatch.StartIfAsked();

// Each subcommand lives in Commands/<Name>Command.cs and is listed here once.
var root = new RootCommand("mirage: MirageOS's Xen drivers for .NET (event channels, grant tables, rings, Xenstore, vchan, netif, blkif, fbif/kbdif over VNC).")
{
    DemoCommand.Create(),
    XenstoredCommand.Create(),
    NetbackCommand.Create(),
    NetfrontCommand.Create(),
    VchanCatCommand.Create(),
    BlkbackCommand.Create(),
    BlkfrontCommand.Create(),
    SoakCommand.Create(),
    FbbackCommand.Create(),
    FbfrontCommand.Create(),
};

return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
