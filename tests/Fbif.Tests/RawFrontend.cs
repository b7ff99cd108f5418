using System.Runtime.InteropServices;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.InHeap;

namespace Fbif.Tests;

/// <summary>A framebuffer frontend written by hand, to play a hostile one: it fills the shared page as told.</summary>
internal sealed class RawFrontend : IDisposable
{
    private readonly InHeapDomain _domain;

    public RawFrontend(InHeapDomain domain, int width, int height, int lineLength, int depth, uint memLength)
    {
        _domain = domain;
        var pages = (int)((memLength + 4095) / 4096);
        Pixels = domain.Frames.Allocate(Math.Max(1, Math.Min(pages, 512)));
        Directory = domain.Frames.Allocate(1);
        Shared = domain.Frames.Allocate(1);
        var entries = MemoryMarshal.Cast<byte, ulong>(Directory.Span);
        for (var i = 0; i < Pixels.PageCount; i++)
            entries[i] = Pixels.Frames[i];
        var page = Shared.Span;
        MemoryMarshal.Write(page[FbifConstants.WidthField..], width);
        MemoryMarshal.Write(page[FbifConstants.HeightField..], height);
        MemoryMarshal.Write(page[FbifConstants.LineLengthField..], lineLength);
        MemoryMarshal.Write(page[FbifConstants.MemLengthField..], memLength);
        page[FbifConstants.DepthField] = (byte)depth;
        PageDirectory[0] = Directory.Frames[0];
        (Port, Channel) = domain.Events.Listen(InHeapPair.BackendDomain);
    }

    public FramePages Pixels { get; }

    public FramePages Directory { get; }

    public FramePages Shared { get; }

    public Port Port { get; }

    public Channel Channel { get; }

    public Span<ulong> PageDirectory => MemoryMarshal.Cast<byte, ulong>(Shared.Span.Slice(FbifConstants.PageDirectoryField, 256 * 8));

    public Span<ulong> DirectoryEntries => MemoryMarshal.Cast<byte, ulong>(Directory.Span);

    public FbifFrontendInfo Info => new(Shared.Frames[0], Port);

    /// <summary>Writes an out event straight into slot <c>prod % 51</c> and moves <c>out_prod</c>, as the frontend would.</summary>
    public void Post(ReadOnlySpan<byte> evt, uint prod)
    {
        evt.CopyTo(Shared.Span.Slice(2048 + (int)(prod % 51) * 40, 40));
        Volatile.Write(ref MemoryMarshal.Cast<byte, uint>(Shared.Span)[3], prod + 1);
    }

    public uint OutCons => Volatile.Read(ref MemoryMarshal.Cast<byte, uint>(Shared.Span)[2]);

    public void SetOutProd(uint value) => Volatile.Write(ref MemoryMarshal.Cast<byte, uint>(Shared.Span)[3], value);

    public void Kick() => _domain.Events.Send(Channel);

    public void Dispose()
    {
        Shared.Dispose();
        Directory.Dispose();
        Pixels.Dispose();
    }
}
