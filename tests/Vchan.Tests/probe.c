/* Prints the vchan control page's layout and constants as libxenvchan's header defines them. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <xen/io/libxenvchan.h>

#define P(name, value) printf("%s=%ld\n", name, (long)(value))

int main(void)
{
    P("sizeof.ring_shared", sizeof(struct ring_shared));
    P("offsetof.ring_shared.cons", offsetof(struct ring_shared, cons));
    P("offsetof.ring_shared.prod", offsetof(struct ring_shared, prod));
    P("sizeof.vchan_interface", sizeof(struct vchan_interface));
    P("offsetof.left", offsetof(struct vchan_interface, left));
    P("offsetof.right", offsetof(struct vchan_interface, right));
    P("offsetof.left_order", offsetof(struct vchan_interface, left_order));
    P("offsetof.right_order", offsetof(struct vchan_interface, right_order));
    P("offsetof.cli_live", offsetof(struct vchan_interface, cli_live));
    P("offsetof.srv_live", offsetof(struct vchan_interface, srv_live));
    P("offsetof.cli_notify", offsetof(struct vchan_interface, cli_notify));
    P("offsetof.srv_notify", offsetof(struct vchan_interface, srv_notify));
    P("offsetof.grants", offsetof(struct vchan_interface, grants));
    P("VCHAN_NOTIFY_WRITE", VCHAN_NOTIFY_WRITE);
    P("VCHAN_NOTIFY_READ", VCHAN_NOTIFY_READ);
    return 0;
}
