using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using TestSupport;
using Xunit.Abstractions;

namespace Blkif.Tests;

/// <summary>
/// <c>mirage blkback</c> and <c>mirage blkfront</c> as separate processes over the Unix backends,
/// meeting through a <c>mirage xenstored</c> process.
/// </summary>
[Trait("Category", "CrossProcess")]
public sealed class CrossProcessTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_1_GiB_image_copied_out_and_back_in_keeps_its_sha256()
    {
        await using var host = await BlkifProcesses.StartAsync();
        var image = Path.Combine(host.Images, "disk.img");
        var copy = Path.Combine(host.Images, "copy.img");
        var clock = Stopwatch.StartNew();
        var original = WriteRandomImage(image, 1L << 30, seed: 7);
        output.WriteLine($"image written and hashed: {clock.Elapsed.TotalSeconds:F1} s");

        using (var back = host.Blkback(image, "--read-only"))
        using (var front = host.Blkfront(false, "--copy-out", copy))
        {
            await ExitsCleanly(front);
            await ExitsCleanly(back);
            output.WriteLine(front.Stderr);
        }
        Assert.Equal(original, Hash(copy));
        File.Delete(image);
        output.WriteLine($"copied out and compared: {clock.Elapsed.TotalSeconds:F1} s");

        // Back in: into a fresh (sparse, zero) image of the same size.
        var blank = Path.Combine(host.Images, "blank.img");
        using (var file = File.Create(blank))
            file.SetLength(1L << 30);
        using (var back = host.Blkback(blank))
        using (var front = host.Blkfront(false, "--copy-in", copy))
        {
            await ExitsCleanly(front);
            await ExitsCleanly(back);
            output.WriteLine(front.Stderr);
        }
        Assert.Equal(original, Hash(blank));
        output.WriteLine($"copied back in and compared: {clock.Elapsed.TotalSeconds:F1} s");
    }

    [PageCacheFact]
    public async Task Once_a_flush_completes_the_data_is_on_the_disk()
    {
        await using var host = await BlkifProcesses.StartAsync();
        // On a disk's filesystem, not tmpfs: whether the pages were written back is the question.
        var image = Path.Combine(host.Folder, "disk.img");
        using (var file = File.Create(image))
            file.SetLength(16 << 20);
        var data = TestData.Pattern(3 << 20, 11);
        using var back = host.Blkback(image);
        using var front = host.Blkfront(true, "--copy-in", "-", "--offset", "1048576");
        await front.WaitForLineAsync("connected", Bounded);
        await front.Process.StandardInput.BaseStream.WriteAsync(data);
        front.Process.StandardInput.Close();
        await front.WaitForLineAsync("flushed", Bounded);
        // The backend gets no chance to do anything after the flush: what it wrote must be on the disk,
        // not only in the page cache (which outlives the process, so reading the file cannot tell).
        back.Process.Kill();
        await back.Process.WaitForExitAsync();
        Assert.Equal(0, PageCache.UnwrittenPages(image, 1 << 20, data.Length));
        var onDisk = new byte[data.Length];
        using (var file = File.OpenHandle(image))
            Assert.Equal(data.Length, RandomAccess.Read(file, onDisk, 1 << 20));
        Assert.Equal(data, onDisk);
    }

    [Fact]
    public async Task A_backend_killed_in_the_middle_of_a_write_fails_the_frontend_cleanly()
    {
        await using var host = await BlkifProcesses.StartAsync();
        var image = Path.Combine(host.Images, "disk.img");
        using (var file = File.Create(image))
            file.SetLength(1L << 30);
        using var back = host.Blkback(image);
        using var front = host.Blkfront(true, "--copy-in", "-");
        await front.WaitForLineAsync("connected", Bounded);
        var stdin = front.Process.StandardInput.BaseStream;
        var chunk = TestData.Pattern(1 << 20, 3);
        long sent = 0;
        // Keep the frontend writing without a pause, and kill the backend while it does.
        var feeder = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await stdin.WriteAsync(chunk);
                    Interlocked.Add(ref sent, chunk.Length);
                }
            }
            catch (IOException)
            {
                // The frontend stopped reading: it exited.
            }
        });
        while (Interlocked.Read(ref sent) < 64 << 20)
            await Task.Delay(5);
        back.Process.Kill();
        var clock = Stopwatch.StartNew();
        var code = await front.ExitCodeAsync(TimeSpan.FromSeconds(20));
        output.WriteLine($"the frontend exited {clock.Elapsed.TotalSeconds:F2} s after the kill, {Interlocked.Read(ref sent) >> 20} MiB sent\n{front.Stderr}");
        Assert.Equal(1, code);
        Assert.Contains("blkfront: the device failed:", front.Stderr, StringComparison.Ordinal);
        await feeder.WaitAsync(TimeSpan.FromSeconds(20));
    }

    // Random bytes, made cheaply: one random block, each 4 KiB page of the image stamped with its
    // own number, so a page read or written in the wrong place changes the hash.
    private static byte[] WriteRandomImage(string path, long size, int seed)
    {
        var chunk = new byte[4 << 20];
        new Random(seed).NextBytes(chunk);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
        {
            for (long at = 0; at < size; at += chunk.Length)
            {
                for (var page = 0; page < chunk.Length; page += 4096)
                    BinaryPrimitives.WriteInt64LittleEndian(chunk.AsSpan(page), (at + page) / 4096);
                file.Write(chunk);
                sha.AppendData(chunk);
            }
        }
        return sha.GetHashAndReset();
    }

    [Fact]
    public async Task A_frontend_killed_while_connected_lets_the_backend_close_and_exit()
    {
        await using var host = await BlkifProcesses.StartAsync();
        var image = Path.Combine(host.Images, "disk.img");
        using (var file = File.Create(image))
            file.SetLength(16 << 20);
        using var back = host.Blkback(image);
        using var front = host.Blkfront(true, "--copy-in", "-");
        await front.WaitForLineAsync("connected", Bounded);
        front.Process.Kill();
        await ExitsCleanly(back);
        Assert.Contains("the frontend went away without closing", back.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writing_into_a_read_only_backend_fails_the_frontend_and_leaves_the_image_alone()
    {
        await using var host = await BlkifProcesses.StartAsync();
        var image = Path.Combine(host.Images, "disk.img");
        var data = Path.Combine(host.Images, "data.bin");
        await File.WriteAllBytesAsync(image, new byte[1 << 20]);
        await File.WriteAllBytesAsync(data, TestData.Pattern(64 << 10, 5));
        using var back = host.Blkback(image, "--read-only");
        using var front = host.Blkfront(false, "--copy-in", data);
        Assert.Equal(1, await front.ExitCodeAsync(Bounded));
        Assert.Contains("blkfront: the device failed:", front.Stderr, StringComparison.Ordinal);
        await ExitsCleanly(back);
        Assert.All(await File.ReadAllBytesAsync(image), b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task A_frontend_without_a_backend_gives_up_after_its_timeout()
    {
        await using var host = await BlkifProcesses.StartAsync();
        using var front = host.Blkfront(false, "--copy-out", Path.Combine(host.Images, "never.img"), "--timeout", "1");
        Assert.Equal(1, await front.ExitCodeAsync(Bounded));
        Assert.Contains("did not connect in time", front.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_help_says_how_the_xenstore_daemon_is_found()
    {
        await using var host = await BlkifProcesses.StartAsync();
        foreach (var command in new[] { "blkback", "blkfront" })
        {
            using var help = host.Run(command, "--help");
            var text = await help.Process.StandardOutput.ReadToEndAsync().WaitAsync(Bounded);
            Assert.Equal(0, await help.ExitCodeAsync(Bounded));
            Assert.Contains("XENSTORED_PATH", text, StringComparison.Ordinal);
            Assert.Contains("--backend <unix|xenctrl>", text, StringComparison.Ordinal);
        }
    }

    private static async Task ExitsCleanly(MirageProcess process)
    {
        var code = await process.ExitCodeAsync(Bounded);
        Assert.True(code == 0, $"exit code {code}:\n{process.Stderr}");
    }

    private static byte[] Hash(string path)
    {
        using var file = File.OpenRead(path);
        return SHA256.HashData(file);
    }
}
