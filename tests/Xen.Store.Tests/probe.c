/* Prints what Debian's libxen-dev says about the Xenstore wire protocol, as name=value lines. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <xen/io/xs_wire.h>

#define TYPE(x) printf("type_%s=%d\n", #x, (int)XS_##x)
#define OFF(s, f) printf("%s_%s=%zu\n", #s, #f, offsetof(struct s, f))

int main(void)
{
    TYPE(CONTROL); TYPE(DIRECTORY); TYPE(READ); TYPE(GET_PERMS); TYPE(WATCH); TYPE(UNWATCH);
    TYPE(TRANSACTION_START); TYPE(TRANSACTION_END); TYPE(INTRODUCE); TYPE(RELEASE);
    TYPE(GET_DOMAIN_PATH); TYPE(WRITE); TYPE(MKDIR); TYPE(RM); TYPE(SET_PERMS); TYPE(WATCH_EVENT);
    TYPE(ERROR); TYPE(IS_DOMAIN_INTRODUCED); TYPE(RESUME); TYPE(SET_TARGET); TYPE(RESET_WATCHES);
    TYPE(DIRECTORY_PART);
    for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
        printf("error_%s=%d\n", xsd_errors[i].errstring, xsd_errors[i].errnum);
    printf("error_count=%zu\n", sizeof(xsd_errors) / sizeof(xsd_errors[0]));
    printf("XENSTORE_PAYLOAD_MAX=%d\n", XENSTORE_PAYLOAD_MAX);
    printf("XENSTORE_ABS_PATH_MAX=%d\n", XENSTORE_ABS_PATH_MAX);
    printf("XENSTORE_REL_PATH_MAX=%d\n", XENSTORE_REL_PATH_MAX);
    printf("XENSTORE_RING_SIZE=%d\n", XENSTORE_RING_SIZE);
    printf("sizeof_xsd_sockmsg=%zu\n", sizeof(struct xsd_sockmsg));
    OFF(xsd_sockmsg, type); OFF(xsd_sockmsg, req_id); OFF(xsd_sockmsg, tx_id); OFF(xsd_sockmsg, len);
    printf("sizeof_xenstore_domain_interface=%zu\n", sizeof(struct xenstore_domain_interface));
    OFF(xenstore_domain_interface, req); OFF(xenstore_domain_interface, rsp);
    OFF(xenstore_domain_interface, req_cons); OFF(xenstore_domain_interface, req_prod);
    OFF(xenstore_domain_interface, rsp_cons); OFF(xenstore_domain_interface, rsp_prod);
    OFF(xenstore_domain_interface, server_features); OFF(xenstore_domain_interface, connection);
    OFF(xenstore_domain_interface, error);
    return 0;
}
