using FsCheck;
using FsCheck.Fluent;
using SharedMemoryRing;
using Xen.Gnt.Unix;
using Xen.Unix.Peer;

namespace Xen.Unix.Tests;

/// <summary>
/// The ring's front on the granter's view and its back on the mapper's view of the same page files:
/// whatever the interleaving of writes, pushes and reads, the back reads exactly the pushed requests
/// in order, the front reads exactly the pushed responses in order, and the free-slot count holds.
/// </summary>
public sealed class RingPropertyTests
{
    [Fact]
    public void Front_and_back_on_two_mappings_of_one_grant_agree_with_a_queue_model()
    {
        using var root = new TempRoot();
        using var one = UnixMemory.Create(1, root.Path);
        using var two = UnixMemory.Create(2, root.Path);
        // Steps: (kind, amount). 0 = front writes up to amount requests, 1 = front pushes,
        // 2 = back answers what it sees and pushes, 3 = front reads responses.
        var steps = Gen.Zip(Gen.Choose(0, 3), Gen.Choose(1, 40)).ArrayOf();
        var property = Prop.ForAll(steps.ToArbitrary(), script =>
        {
            using var share = one.Share(2, 1, writable: true);
            using var mapping = two.Map(1, share.Refs[0], writable: true);
            var front = FrontRing<RingRequest, RingResponse>.Initialise(share);
            var back = BackRing<RingRequest, RingResponse>.Attach(mapping);
            uint written = 0, pushed = 0, answered = 0, responded = 0;
            foreach (var (kind, amount) in script)
            {
                switch (kind)
                {
                    case 0:
                        for (var i = 0; i < amount && !front.IsFull; i++, written++)
                            front.WriteRequest(new RingRequest(written, written, 1));
                        break;
                    case 1:
                        front.PushRequests();
                        pushed = written;
                        break;
                    case 2:
                        while (back.TryReadRequest(out var request))
                        {
                            Assert.Equal(answered, request.Id);
                            back.WriteResponse(new RingResponse(request.Id, request.A + request.B));
                            answered++;
                        }
                        Assert.Equal(pushed, answered); // every pushed request, no more
                        back.PushResponses();
                        break;
                    default:
                        while (front.TryReadResponse(out var response))
                        {
                            Assert.Equal(new RingResponse(responded, responded + 1), response);
                            responded++;
                        }
                        Assert.Equal(answered, responded);
                        break;
                }
                Assert.Equal(front.Size - (int)(written - responded), front.FreeRequests);
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), property);
    }
}
