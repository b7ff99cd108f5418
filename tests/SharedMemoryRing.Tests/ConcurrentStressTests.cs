namespace SharedMemoryRing.Tests;

/// <summary>
/// Front and back on two threads, hammering one shared ring: every request arrives once and in order,
/// every response matches its request, and the checksums on both sides agree.
/// </summary>
public sealed unsafe class ConcurrentStressTests
{
    private const int Requests = 2_000_000;

    [Fact]
    public void Two_million_requests_cross_a_ring_between_spinning_threads_in_order_and_intact()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length, uint.MaxValue - 1000);
        var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, pages.Length, uint.MaxValue - 1000);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        ulong backSum = 0;
        var backOrderOk = true;

        var backend = new Thread(() =>
        {
            var expected = 0u;
            var spinner = default(SpinWait);
            while (expected < Requests && !cancel.IsCancellationRequested)
            {
                var any = false;
                while (back.TryReadRequest(out var request))
                {
                    backOrderOk &= request.Id == expected++;
                    backSum += request.A ^ ((ulong)request.B << 32);
                    back.WriteResponse(TestResponse.To(request));
                    any = true;
                }
                back.PushResponses();
                if (any)
                    spinner = default;
                else
                    spinner.SpinOnce(sleep1Threshold: -1);
            }
        });
        backend.Start();

        ulong frontSum = 0, responseSum = 0, expectedResponseSum = 0;
        var responses = 0u;
        var sent = 0u;
        var frontOrderOk = true;
        var frontSpinner = default(SpinWait);
        while (responses < Requests && !cancel.IsCancellationRequested)
        {
            var any = false;
            while (sent < Requests && front.TryWriteRequest(new TestRequest(sent, sent * 2654435761u, ~sent)))
            {
                frontSum += (sent * 2654435761u) ^ ((ulong)~sent << 32);
                expectedResponseSum += unchecked(sent * 2654435761u + ~sent);
                sent++;
                any = true;
            }
            front.PushRequests();
            while (front.TryReadResponse(out var response))
            {
                frontOrderOk &= response.Id == responses++;
                responseSum += response.Sum;
                any = true;
            }
            if (any)
                frontSpinner = default;
            else
                frontSpinner.SpinOnce(sleep1Threshold: -1);
        }
        Assert.True(backend.Join(TimeSpan.FromMinutes(1)));
        Assert.False(cancel.IsCancellationRequested, "the run did not finish in a minute");
        Assert.Equal((uint)Requests, responses);
        Assert.True(backOrderOk, "requests arrived out of order");
        Assert.True(frontOrderOk, "responses arrived out of order");
        Assert.Equal(frontSum, backSum);
        Assert.Equal(expectedResponseSum, responseSum);
    }
}
