/* Prints the sizes, offsets and constants of blkif.h as name=value lines, for BlkifLayoutTests. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <xen/io/blkif.h>

#define SIZE(t) printf("sizeof_%s=%zu\n", #t, sizeof(struct t))
#define OFF(t, f) printf("offsetof_%s_%s=%zu\n", #t, #f, offsetof(struct t, f))
#define CONST(c) printf("%s=%lld\n", #c, (long long)(c))

int main(void)
{
    SIZE(blkif_request_segment);
    OFF(blkif_request_segment, gref);
    OFF(blkif_request_segment, first_sect);
    OFF(blkif_request_segment, last_sect);

    SIZE(blkif_request);
    OFF(blkif_request, operation);
    OFF(blkif_request, nr_segments);
    OFF(blkif_request, handle);
    OFF(blkif_request, id);
    OFF(blkif_request, sector_number);
    OFF(blkif_request, seg);
    OFF(blkif_request, seg[1]);
    OFF(blkif_request, seg[10]);

    SIZE(blkif_request_discard);
    OFF(blkif_request_discard, operation);
    OFF(blkif_request_discard, flag);
    OFF(blkif_request_discard, handle);
    OFF(blkif_request_discard, id);
    OFF(blkif_request_discard, sector_number);
    OFF(blkif_request_discard, nr_sectors);

    SIZE(blkif_request_indirect);
    OFF(blkif_request_indirect, operation);
    OFF(blkif_request_indirect, indirect_op);
    OFF(blkif_request_indirect, nr_segments);
    OFF(blkif_request_indirect, id);
    OFF(blkif_request_indirect, sector_number);
    OFF(blkif_request_indirect, handle);
    OFF(blkif_request_indirect, indirect_grefs);
    OFF(blkif_request_indirect, indirect_grefs[7]);

    SIZE(blkif_response);
    OFF(blkif_response, id);
    OFF(blkif_response, operation);
    OFF(blkif_response, status);

    CONST(BLKIF_OP_READ);
    CONST(BLKIF_OP_WRITE);
    CONST(BLKIF_OP_WRITE_BARRIER);
    CONST(BLKIF_OP_FLUSH_DISKCACHE);
    CONST(BLKIF_OP_RESERVED_1);
    CONST(BLKIF_OP_DISCARD);
    CONST(BLKIF_OP_INDIRECT);
    CONST(BLKIF_RSP_EOPNOTSUPP);
    CONST(BLKIF_RSP_ERROR);
    CONST(BLKIF_RSP_OKAY);
    CONST(BLKIF_DISCARD_SECURE);
    CONST(VDISK_CDROM);
    CONST(VDISK_REMOVABLE);
    CONST(VDISK_READONLY);
    CONST(BLKIF_MAX_SEGMENTS_PER_REQUEST);
    CONST(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
    /* An indirect page is a page of segments: the header says so in words, not as a macro. */
    printf("segments_per_indirect_frame=%zu\n", (size_t)(1 << XEN_PAGE_SHIFT) / sizeof(struct blkif_request_segment));

    printf("ring_size_blkif_1_page=%lu\n", (unsigned long)__CONST_RING_SIZE(blkif, 4096));
    printf("ring_size_blkif_2_pages=%lu\n", (unsigned long)__CONST_RING_SIZE(blkif, 2 * 4096));
    printf("ring_size_blkif_16_pages=%lu\n", (unsigned long)__CONST_RING_SIZE(blkif, 16 * 4096));
    return 0;
}
