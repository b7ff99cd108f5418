/* Prints the sizes, offsets and constants of Xen's ring.h, grant_table.h, console.h and xs_wire.h
 * as name=value lines, for the C# layout conformance test. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/ring.h>
#include <xen/io/console.h>
#include <xen/io/xs_wire.h>

struct test_request { uint32_t id, a, b; };
struct test_response { uint32_t id, sum; };
DEFINE_RING_TYPES(test, struct test_request, struct test_response);

struct big_request { uint64_t id, sector; uint8_t rest[96]; };
struct big_response { uint64_t id, pad; };
DEFINE_RING_TYPES(big, struct big_request, struct big_response);

struct s8 { uint32_t a, b; };
DEFINE_RING_TYPES(e8, struct s8, struct s8);
struct s16 { uint32_t a, b, c, d; };
DEFINE_RING_TYPES(e16, struct s16, struct s8);

#define P(name, value) printf("%s=%lld\n", name, (long long)(value))

int main(void)
{
    P("sring.req_prod", offsetof(struct test_sring, req_prod));
    P("sring.req_event", offsetof(struct test_sring, req_event));
    P("sring.rsp_prod", offsetof(struct test_sring, rsp_prod));
    P("sring.rsp_event", offsetof(struct test_sring, rsp_event));
    P("sring.pvt", offsetof(struct test_sring, pvt));
    P("sizeof.pvt", sizeof(((struct test_sring *)0)->pvt));
    P("sring.pad", offsetof(struct test_sring, __pad));
    P("sizeof.pad", sizeof(((struct test_sring *)0)->__pad));
    P("sring.ring", offsetof(struct test_sring, ring));
    P("sizeof.RING_IDX", sizeof(RING_IDX));
    P("slot.test", sizeof(union test_sring_entry));
    P("slot.big", sizeof(union big_sring_entry));
    P("entries.8.4096", __CONST_RING_SIZE(e8, 4096));
    P("entries.12.4096", __CONST_RING_SIZE(test, 4096));
    P("entries.16.4096", __CONST_RING_SIZE(e16, 4096));
    P("entries.112.4096", __CONST_RING_SIZE(big, 4096));
    P("entries.112.8192", __CONST_RING_SIZE(big, 8192));
    P("entries.112.65536", __CONST_RING_SIZE(big, 65536));
    P("entries.12.160", __CONST_RING_SIZE(test, 160));
    P("entries.12.1048576", __CONST_RING_SIZE(test, 1048576));

    P("GNTST_okay", GNTST_okay);
    P("GNTST_general_error", GNTST_general_error);
    P("GNTST_bad_domain", GNTST_bad_domain);
    P("GNTST_bad_gntref", GNTST_bad_gntref);
    P("GNTST_bad_handle", GNTST_bad_handle);
    P("GNTST_bad_virt_addr", GNTST_bad_virt_addr);
    P("GNTST_bad_dev_addr", GNTST_bad_dev_addr);
    P("GNTST_no_device_space", GNTST_no_device_space);
    P("GNTST_permission_denied", GNTST_permission_denied);
    P("GNTST_bad_page", GNTST_bad_page);
    P("GNTST_bad_copy_arg", GNTST_bad_copy_arg);
    P("GNTST_address_too_big", GNTST_address_too_big);
    P("GNTST_eagain", GNTST_eagain);
    P("GNTST_no_space", GNTST_no_space);
    P("GNTTAB_NR_RESERVED_ENTRIES", GNTTAB_NR_RESERVED_ENTRIES);
    P("GNTTAB_RESERVED_CONSOLE", GNTTAB_RESERVED_CONSOLE);
    P("GNTTAB_RESERVED_XENSTORE", GNTTAB_RESERVED_XENSTORE);

    P("xencons.in", offsetof(struct xencons_interface, in));
    P("xencons.in.size", sizeof(((struct xencons_interface *)0)->in));
    P("xencons.out", offsetof(struct xencons_interface, out));
    P("xencons.out.size", sizeof(((struct xencons_interface *)0)->out));
    P("xencons.in_cons", offsetof(struct xencons_interface, in_cons));
    P("xencons.in_prod", offsetof(struct xencons_interface, in_prod));
    P("xencons.out_cons", offsetof(struct xencons_interface, out_cons));
    P("xencons.out_prod", offsetof(struct xencons_interface, out_prod));
    P("sizeof.xencons", sizeof(struct xencons_interface));

    P("XENSTORE_RING_SIZE", XENSTORE_RING_SIZE);
    P("xenstore.req", offsetof(struct xenstore_domain_interface, req));
    P("xenstore.rsp", offsetof(struct xenstore_domain_interface, rsp));
    P("xenstore.req_cons", offsetof(struct xenstore_domain_interface, req_cons));
    P("xenstore.req_prod", offsetof(struct xenstore_domain_interface, req_prod));
    P("xenstore.rsp_cons", offsetof(struct xenstore_domain_interface, rsp_cons));
    P("xenstore.rsp_prod", offsetof(struct xenstore_domain_interface, rsp_prod));
    P("xenstore.server_features", offsetof(struct xenstore_domain_interface, server_features));
    P("xenstore.connection", offsetof(struct xenstore_domain_interface, connection));
    P("xenstore.error", offsetof(struct xenstore_domain_interface, error));
    P("sizeof.xenstore", sizeof(struct xenstore_domain_interface));
    return 0;
}
