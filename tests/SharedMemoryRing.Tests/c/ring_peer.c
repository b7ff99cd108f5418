/* One end of a ring.h shared ring, driven one command per line over stdin, one reply line each on
 * stdout, using ring.h's own macros on a file that the C# test maps too.
 * Usage: ring_peer front|back <file> <ring bytes> <first index> */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ring.h leaves the barriers to the includer (for the current interface version): a full fence,
 * and compiler barriers as on x86-64. */
#define __XEN_INTERFACE_VERSION__ __XEN_LATEST_INTERFACE_VERSION__
#define xen_mb() __sync_synchronize()
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#define xen_wmb() __asm__ __volatile__("" ::: "memory")
#define XEN_RING_HAS_UNCONSUMED_IS_BOOL
#include <xen/io/ring.h>

struct test_request { uint32_t id, a, b; };
struct test_response { uint32_t id, sum; };
DEFINE_RING_TYPES(test, struct test_request, struct test_response);

/* The back's consumed requests not yet answered, oldest first: "answers" answers them in order. */
static struct test_request pending[1 << 16];
static unsigned pending_head, pending_tail;

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s front|back <file> <ring bytes> <first index>\n", argv[0]);
        return 2;
    }
    int front = strcmp(argv[1], "front") == 0;
    size_t size = strtoul(argv[3], NULL, 10);
    RING_IDX first = (RING_IDX)strtoul(argv[4], NULL, 10);
    int fd = open(argv[2], O_RDWR);
    if (fd < 0) { perror("open"); return 1; }
    void *page = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (page == MAP_FAILED) { perror("mmap"); return 1; }
    struct test_sring *sring = page;
    struct test_front_ring fr = { 0 };
    struct test_back_ring br = { 0 };
    setvbuf(stdout, NULL, _IOLBF, 0);

    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        char cmd[32];
        unsigned a = 0, b = 0, c = 0;
        int n = sscanf(line, "%31s %u %u %u", cmd, &a, &b, &c);
        if (n < 1) continue;
        int notify, work;
        if (!strcmp(cmd, "init")) {
            if (first == 0) {
                XEN_FRONT_RING_INIT(&fr, sring, size);
            } else {
                /* The same, with both producers at the first index. */
                SHARED_RING_INIT(sring);
                sring->req_prod = sring->rsp_prod = first;
                sring->req_event = sring->rsp_event = first + 1;
                FRONT_RING_ATTACH(&fr, sring, first, size);
            }
            printf("ok %u\n", RING_SIZE(&fr));
        } else if (!strcmp(cmd, "attach")) {
            if (first == 0)
                BACK_RING_INIT(&br, sring, size);
            else
                BACK_RING_ATTACH(&br, sring, first, size);
            printf("ok %u\n", RING_SIZE(&br));
        } else if (front && !strcmp(cmd, "request")) {
            if (RING_FULL(&fr)) { printf("full\n"); continue; }
            struct test_request *req = RING_GET_REQUEST(&fr, fr.req_prod_pvt);
            req->id = a; req->a = b; req->b = c;
            fr.req_prod_pvt++;
            printf("ok\n");
        } else if (front && !strcmp(cmd, "push")) {
            RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&fr, notify);
            printf("notify %d\n", notify);
        } else if (front && !strcmp(cmd, "read")) {
            if (!RING_HAS_UNCONSUMED_RESPONSES(&fr)) { printf("none\n"); continue; }
            struct test_response rsp;
            RING_COPY_RESPONSE(&fr, fr.rsp_cons, &rsp);
            fr.rsp_cons++;
            printf("response %u %u\n", rsp.id, rsp.sum);
        } else if (front && !strcmp(cmd, "requests")) {
            /* A batch as Linux's frontends fill one: RING_GET_REQUEST at req_prod_pvt++ while not full. */
            unsigned m = 0;
            for (; m < a && !RING_FULL(&fr); m++) {
                struct test_request *req = RING_GET_REQUEST(&fr, fr.req_prod_pvt);
                req->id = b + m; req->a = (b + m) * 3; req->b = (b + m) % 17;
                fr.req_prod_pvt++;
            }
            printf("ok %u\n", m);
        } else if (front && !strcmp(cmd, "reads")) {
            /* A batch as Linux's frontends consume one: rsp_prod once, a read barrier, then a local cons. */
            RING_IDX rp = fr.sring->rsp_prod, i = fr.rsp_cons;
            xen_rmb();
            char out[4000] = "";
            int len = 0;
            unsigned m = 0;
            for (; m < a && i != rp; m++, i++) {
                struct test_response rsp;
                RING_COPY_RESPONSE(&fr, i, &rsp);
                len += snprintf(out + len, sizeof out - len, " %u %u", rsp.id, rsp.sum);
            }
            fr.rsp_cons = i;
            printf("responses %u%s\n", m, out);
        } else if (front && !strcmp(cmd, "final")) {
            RING_FINAL_CHECK_FOR_RESPONSES(&fr, work);
            printf("work %d\n", work);
        } else if (front && !strcmp(cmd, "state")) {
            printf("free %u pending %u\n", RING_FREE_REQUESTS(&fr), XEN_RING_NR_UNCONSUMED_RESPONSES(&fr));
        } else if (!front && !strcmp(cmd, "read")) {
            if (!RING_HAS_UNCONSUMED_REQUESTS(&br)) { printf("none\n"); continue; }
            struct test_request req;
            RING_COPY_REQUEST(&br, br.req_cons, &req);
            br.req_cons++;
            pending[pending_tail++ & 0xffff] = req;
            printf("request %u %u %u\n", req.id, req.a, req.b);
        } else if (!front && !strcmp(cmd, "response")) {
            if (br.rsp_prod_pvt == br.req_cons) { printf("unasked\n"); continue; }
            struct test_response *rsp = RING_GET_RESPONSE(&br, br.rsp_prod_pvt);
            rsp->id = a; rsp->sum = b;
            br.rsp_prod_pvt++;
            pending_head++;
            printf("ok\n");
        } else if (!front && !strcmp(cmd, "reads")) {
            RING_IDX rp = br.sring->req_prod, i = br.req_cons;
            xen_rmb();
            char out[4000] = "";
            int len = 0;
            unsigned m = 0;
            for (; m < a && i != rp; m++, i++) {
                struct test_request req;
                RING_COPY_REQUEST(&br, i, &req);
                pending[pending_tail++ & 0xffff] = req;
                len += snprintf(out + len, sizeof out - len, " %u %u %u", req.id, req.a, req.b);
            }
            br.req_cons = i;
            printf("requests %u%s\n", m, out);
        } else if (!front && !strcmp(cmd, "answers")) {
            /* Each answer goes into the slot at rsp_prod_pvt, the oldest unanswered request's. */
            unsigned m = 0;
            for (; m < a && br.rsp_prod_pvt != br.req_cons; m++) {
                struct test_request req = pending[pending_head++ & 0xffff];
                struct test_response *rsp = RING_GET_RESPONSE(&br, br.rsp_prod_pvt);
                rsp->id = req.id; rsp->sum = req.a + req.b;
                br.rsp_prod_pvt++;
            }
            printf("ok %u\n", m);
        } else if (!front && !strcmp(cmd, "push")) {
            RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&br, notify);
            printf("notify %d\n", notify);
        } else if (!front && !strcmp(cmd, "final")) {
            RING_FINAL_CHECK_FOR_REQUESTS(&br, work);
            printf("work %d\n", work);
        } else if (!front && !strcmp(cmd, "state")) {
            printf("unconsumed %u\n", XEN_RING_NR_UNCONSUMED_REQUESTS(&br));
        } else {
            printf("unknown %s\n", cmd);
        }
    }
    return 0;
}
