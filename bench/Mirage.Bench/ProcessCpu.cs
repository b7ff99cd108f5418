using System.Globalization;

namespace Mirage.Bench;

/// <summary>Another process's CPU time, from <c>/proc/&lt;pid&gt;/stat</c> (proc(5): utime and stime, fields 14 and 15).</summary>
internal static class ProcessCpu
{
    // USER_HZ: the unit of utime and stime. Linux reports 100 on every architecture it runs on
    // (the kernel converts from its own HZ), and .NET offers no sysconf(_SC_CLK_TCK).
    private const double TicksPerSecond = 100;

    /// <summary>User plus system time of <paramref name="pid"/> so far; null if it is gone (or not Linux).</summary>
    public static TimeSpan? Of(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state), so utime (14) and stime (15) are fields[11] and fields[12].
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }
}
