/* A firmware's C side, run on the host: links libnn_embedded_baked.a (no std, no allocator,
 * the weights and the digit inside), asks it for the baked digit's ten outputs and class and
 * prints them in the format of ../check/tests/baked.txt, then checks that the class is the
 * digit's label. `.ci/run` builds it when a C compiler is present and compares its output with
 * that file (from examples/embedded):
 *
 *     cargo build --release -p nn-embedded-baked
 *     cc baked/main.c target/release/libnn_embedded_baked.a -o target/baked-c && ./target/baked-c
 *
 * The release build, with LTO: see ../plain/main.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void nn_baked_digit_forward(float output[10]);
uint32_t nn_baked_digit_class(void);
uint32_t nn_baked_digit_label(void);

int main(void) {
    float p[10];
    nn_baked_digit_forward(p);
    for (int k = 0; k < 10; k++) {
        uint32_t bits;
        memcpy(&bits, &p[k], sizeof bits);
        printf("%08x ", bits);
    }
    uint32_t class = nn_baked_digit_class();
    printf("%u\n", class);
    if (class != nn_baked_digit_label()) {
        fprintf(stderr, "read %u, labelled %u\n", class, nn_baked_digit_label());
        return 1;
    }
    return 0;
}
