using Xen.Gnt;

namespace SharedMemoryRing.Tests;

/// <summary>One behaviour of the request/response rings per test.</summary>
public sealed unsafe class RingBehaviourTests
{
    [Theory]
    [InlineData(4096, 12, 256)] // netif tx
    [InlineData(4096, 8, 256)] // netif rx
    [InlineData(4096, 16, 128)] // netif ctrl
    [InlineData(4096, 112, 32)] // blkif, one page
    [InlineData(8192, 112, 64)] // blkif, two pages
    [InlineData(65536, 112, 512)] // blkif, sixteen pages
    [InlineData(64 + 12, 12, 1)]
    [InlineData(64 + 11, 12, 0)]
    public void Entries_are_the_slots_after_the_header_rounded_down_to_a_power_of_two(int bytes, int slot, int entries) =>
        Assert.Equal(entries, SharedRingLayout.EntriesFor(bytes, slot));

    [Fact]
    public void The_slot_is_the_larger_of_request_and_response() =>
        Assert.Equal(112, SharedRingLayout.SlotSize<BigRequest, BigResponse>());

    [Fact]
    public void Initialising_the_front_sets_producers_to_zero_events_to_one_and_clears_the_padding()
    {
        using var pages = new GuardedPages(1);
        pages.Span.Fill(0xAB);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length);
        Assert.Equal(0u, pages.Word(SharedRingLayout.ReqProdOffset));
        Assert.Equal(1u, pages.Word(SharedRingLayout.ReqEventOffset));
        Assert.Equal(0u, pages.Word(SharedRingLayout.RspProdOffset));
        Assert.Equal(1u, pages.Word(SharedRingLayout.RspEventOffset));
        Assert.True(pages.Span[SharedRingLayout.PrivateOffset..SharedRingLayout.EntriesOffset].IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(256, front.Size);
        Assert.Equal(256, front.FreeRequests);
    }

    [Fact]
    public void Attaching_the_back_writes_nothing_to_the_shared_page()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length);
        front.WriteRequest(new TestRequest(7, 1, 2));
        front.PushRequests();
        var before = pages.Span.ToArray();
        var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, pages.Length);
        Assert.Equal(before, pages.Span.ToArray());
        Assert.True(back.TryReadRequest(out var request));
        Assert.Equal(new TestRequest(7, 1, 2), request);
    }

    [Fact]
    public void A_backend_attaching_to_a_ring_another_backend_served_goes_on_where_its_responses_stopped()
    {
        using var pages = PageBuffer.Allocate(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length);
        for (var i = 0u; i < 5; i++)
            front.WriteRequest(new TestRequest(i, i, 1));
        front.PushRequests();
        var first = BackRing<TestRequest, TestResponse>.Attach(pages);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(first.TryReadRequest(out var request));
            if (i < 3)
                first.TryWriteResponse(TestResponse.To(request));
        }
        first.PushResponses();

        // The first backend dies with requests 3 and 4 consumed but unanswered: the next one answers them.
        var next = BackRing<TestRequest, TestResponse>.Attach(pages);
        Assert.Equal(2, next.UnconsumedRequests);
        while (next.TryReadRequest(out var request))
            next.TryWriteResponse(TestResponse.To(request));
        next.PushResponses();
        var ids = new List<uint>();
        while (front.TryReadResponse(out var response))
            ids.Add(response.Id);
        Assert.Equal([0u, 1, 2, 3, 4], ids);
    }

    [Fact]
    public void A_peeked_request_stays_the_next_to_read_and_an_empty_ring_peeks_nothing()
    {
        using var pages = PageBuffer.Allocate(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length);
        var back = BackRing<TestRequest, TestResponse>.Attach(pages);
        Assert.False(back.TryPeekRequest(out _));
        front.WriteRequest(new TestRequest(1, 10, 1));
        front.WriteRequest(new TestRequest(2, 20, 2));
        front.PushRequests();

        Assert.True(back.TryPeekRequest(out var peeked));
        Assert.True(back.TryPeekRequest(out var again));
        Assert.Equal(2, back.UnconsumedRequests);
        Assert.True(back.TryReadRequest(out var read));
        Assert.Equal(new TestRequest(1, 10, 1), peeked);
        Assert.Equal(peeked, again);
        Assert.Equal(peeked, read);
        Assert.True(back.TryPeekRequest(out var second));
        Assert.Equal(new TestRequest(2, 20, 2), second);
        Assert.True(back.TryReadRequest(out _));
        Assert.False(back.TryPeekRequest(out _));
    }

    [Fact]
    public void A_backend_refuses_to_attach_to_a_ring_with_more_unanswered_requests_than_slots()
    {
        using var pages = PageBuffer.Allocate(1);
        FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length);
        BitConverter.TryWriteBytes(pages.Span[SharedRingLayout.ReqProdOffset..], 1000u);
        BitConverter.TryWriteBytes(pages.Span[SharedRingLayout.RspProdOffset..], 100u);
        Assert.Throws<RingProtocolException>(() => BackRing<TestRequest, TestResponse>.Attach(pages));
    }

    [Fact]
    public void A_full_front_ring_refuses_a_request()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, TestRings.SmallRingBytes);
        for (var i = 0; i < 8; i++)
            front.WriteRequest(new TestRequest((uint)i, 0, 0));
        Assert.True(front.IsFull);
        Assert.False(front.TryWriteRequest(new TestRequest(9, 0, 0)));
        Assert.Throws<InvalidOperationException>(() => front.WriteRequest(new TestRequest(9, 0, 0)));
    }

    [Fact]
    public void The_first_push_notifies_because_the_backend_starts_asking_for_request_one()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length);
        front.WriteRequest(new TestRequest(1, 0, 0));
        Assert.True(front.PushRequests());
        front.WriteRequest(new TestRequest(2, 0, 0));
        Assert.False(front.PushRequests());
    }

    [Fact]
    public void A_push_with_nothing_new_does_not_notify()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length);
        Assert.False(front.PushRequests());
    }

    [Fact]
    public void The_final_check_asks_for_the_next_request_and_the_next_push_notifies()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length);
        var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, pages.Length);
        front.WriteRequest(new TestRequest(1, 0, 0));
        front.PushRequests();
        Assert.True(back.TryReadRequest(out _));
        Assert.False(back.FinalCheckForRequests());
        Assert.Equal(2u, pages.Word(SharedRingLayout.ReqEventOffset));
        front.WriteRequest(new TestRequest(2, 0, 0));
        Assert.True(front.PushRequests());
    }

    [Fact]
    public void The_final_check_reports_work_that_is_already_there_without_asking_for_more()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length);
        var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, pages.Length);
        front.WriteRequest(new TestRequest(1, 0, 0));
        front.WriteRequest(new TestRequest(2, 0, 0));
        front.PushRequests();
        back.TryReadRequest(out _);
        Assert.True(back.FinalCheckForRequests());
        Assert.Equal(1u, pages.Word(SharedRingLayout.ReqEventOffset));
    }

    // A backend that needs several slots for one item sleeps until the frontend pushes past what is
    // there: the event index asks for the next request after those already pushed.
    [Fact]
    public void The_final_check_for_several_requests_asks_for_the_one_after_those_waiting()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length);
        var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, pages.Length);
        front.WriteRequest(new TestRequest(1, 0, 0));
        front.WriteRequest(new TestRequest(2, 0, 0));
        front.PushRequests();
        Assert.False(back.FinalCheckForRequests(needed: 3));
        Assert.Equal(3u, pages.Word(SharedRingLayout.ReqEventOffset));
        front.WriteRequest(new TestRequest(3, 0, 0));
        Assert.True(front.PushRequests());
        Assert.True(back.FinalCheckForRequests(needed: 3));
    }

    [Fact]
    public void A_response_needs_the_slot_of_a_consumed_request()
    {
        using var pages = new GuardedPages(1);
        FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length);
        var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, pages.Length);
        Assert.False(back.TryWriteResponse(new TestResponse(1, 1)));
        Assert.Throws<InvalidOperationException>(() => back.WriteResponse(new TestResponse(1, 1)));
    }

    [Fact]
    public void A_multi_page_ring_uses_every_slot_of_its_pages()
    {
        using var pages = new GuardedPages(16);
        var front = FrontRing<BigRequest, BigResponse>.Initialise(pages.Pointer, pages.Length);
        var back = BackRing<BigRequest, BigResponse>.Attach(pages.Pointer, pages.Length);
        Assert.Equal(512, front.Size);
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 512; i++)
                front.WriteRequest(new BigRequest { Id = (ulong)(round * 512 + i), Sector = (ulong)i });
            front.PushRequests();
            for (var i = 0; i < 512; i++)
            {
                Assert.True(back.TryReadRequest(out var request));
                Assert.Equal((ulong)(round * 512 + i), request.Id);
                back.WriteResponse(new BigResponse { Id = request.Id });
            }
            back.PushResponses();
            for (var i = 0; i < 512; i++)
            {
                Assert.True(front.TryReadResponse(out var response));
                Assert.Equal((ulong)(round * 512 + i), response.Id);
            }
        }
    }

    [Fact]
    public void Entries_filled_in_place_cross_the_ring_like_written_ones()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length);
        var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, pages.Length);
        front.ProduceRequest() = new TestRequest(5, 6, 7);
        Assert.Equal(1, front.UnpushedRequests);
        front.PushRequests();
        Assert.True(back.TryReadRequest(out var request));
        Assert.Equal(new TestRequest(5, 6, 7), request);
        back.ProduceResponse() = TestResponse.To(request);
        back.PushResponses();
        Assert.True(front.TryReadResponse(out var response));
        Assert.Equal(new TestResponse(5, 13), response);
    }

    [Fact]
    public void A_batch_refuses_an_index_outside_its_window()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, TestRings.SmallRingBytes);
        var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, TestRings.SmallRingBytes);
        var slots = front.ProduceRequests(3);
        Assert.Equal([false, true, true, true], [Refused(slots, 2), Refused(slots, 3), Refused(slots, -1), Refused(slots, int.MinValue)]);
        for (var i = 0; i < slots.Count; i++)
            slots[i] = new TestRequest((uint)i, 0, 0);
        front.PushRequests();
        var requests = back.ConsumeRequests();
        Assert.Equal([false, true, true], [RefusedEntry(requests, 2), RefusedEntry(requests, 3), RefusedEntry(requests, -1)]);
        var answers = back.ProduceResponses(2);
        Assert.Equal([false, true, true], [Refused(answers, 1), Refused(answers, 2), Refused(answers, -1)]);

        static bool Refused<T>(RingSlots<T> window, int i)
            where T : unmanaged
        {
            try
            {
                _ = window[i];
                return false;
            }
            catch (IndexOutOfRangeException)
            {
                return true;
            }
        }

        static bool RefusedEntry<T>(RingEntries<T> window, int i)
            where T : unmanaged
        {
            try
            {
                _ = window[i];
                return false;
            }
            catch (IndexOutOfRangeException)
            {
                return true;
            }
        }
    }

    [Fact]
    public void Requests_answered_in_place_reach_the_frontend_in_order_and_only_once_every_earlier_one_is_answered()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, TestRings.SmallRingBytes);
        var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, TestRings.SmallRingBytes);
        for (var i = 0u; i < 4; i++)
            front.WriteRequest(new TestRequest(i, i, 10));
        front.PushRequests();

        // One answered on its own and left unanswered: the slot its response needs comes first.
        Assert.True(back.TryReadRequest(out var first));
        Assert.Throws<InvalidOperationException>(() => back.ConsumeAndAnswer());
        Assert.Equal(3, back.UnconsumedRequests);
        back.WriteResponse(TestResponse.To(first));

        var exchange = back.ConsumeAndAnswer(2);
        Assert.Equal((2, 1u), (exchange.Count, exchange.FirstIndex));
        for (var i = 0; i < exchange.Count; i++)
        {
            ref var response = ref exchange.Answer(i, out var request);
            Assert.Equal(new TestRequest((uint)i + 1, (uint)i + 1, 10), request);
            response = TestResponse.To(request);
        }
        Assert.Throws<IndexOutOfRangeException>(() => back.ConsumeAndAnswer(0).Answer(0, out _));
        var last = back.ConsumeAndAnswer();
        Assert.Equal(1, last.Count);
        last.Answer(0, out var fourth) = TestResponse.To(fourth);
        back.PushResponses();

        for (var i = 0u; i < 4; i++)
        {
            Assert.True(front.TryReadResponse(out var response));
            Assert.Equal(new TestResponse(i, i + 10), response);
        }
        Assert.False(front.TryReadResponse(out _));
    }

    [Fact]
    public void Claiming_a_slot_in_a_full_ring_fails()
    {
        using var pages = new GuardedPages(1);
        var front = FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, TestRings.SmallRingBytes);
        for (var i = 0; i < 8; i++)
            front.ProduceRequest() = new TestRequest((uint)i, 0, 0);
        Assert.Throws<InvalidOperationException>(() => front.ProduceRequest());
        Assert.Equal(8u, front.ReqProdPvt);
    }

    [Fact]
    public void Claiming_a_response_slot_without_a_consumed_request_fails()
    {
        using var pages = new GuardedPages(1);
        FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, pages.Length);
        var back = BackRing<TestRequest, TestResponse>.Attach(pages.Pointer, pages.Length);
        Assert.Throws<InvalidOperationException>(() => back.ProduceResponse());
        Assert.Equal(0u, back.RspProdPvt);
    }

    [Fact]
    public void Memory_too_small_for_one_entry_is_refused()
    {
        using var pages = new GuardedPages(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => FrontRing<TestRequest, TestResponse>.Initialise(pages.Pointer, 64 + 11));
    }

    [Fact]
    public void Read_only_pages_are_refused()
    {
        using var pages = new ReadOnlyPages();
        Assert.Throws<ArgumentException>(() => BackRing<TestRequest, TestResponse>.Attach(pages));
    }

    [Fact]
    public void A_page_buffer_carries_a_ring()
    {
        using var pages = PageBuffer.Allocate(2);
        var front = FrontRing<BigRequest, BigResponse>.Initialise(pages);
        var back = BackRing<BigRequest, BigResponse>.Attach(pages);
        Assert.Equal(64, back.Size);
        front.WriteRequest(new BigRequest { Id = 42 });
        front.PushRequests();
        Assert.True(back.TryReadRequest(out var request));
        Assert.Equal(42ul, request.Id);
    }

    private sealed class ReadOnlyPages() : PageBuffer(Owned.Address, 1, writable: false)
    {
        private static class Owned
        {
            public static readonly nint Address = (nint)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(4096, 4096);
        }

        protected override void Release(bool disposing)
        {
        }
    }
}
