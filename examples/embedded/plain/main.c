/* A firmware's C side, run on the host: links libnn_embedded_plain.a (no std, no allocator),
 * runs the network on the test images of src/net.rs and prints each image's ten outputs as
 * bits and its digit, in the format of ../check/tests/expected.txt. `.ci/run` builds it when
 * a C compiler is present and compares its output with that file (from examples/embedded):
 *
 *     cargo build --release -p nn-embedded-plain
 *     cc plain/main.c target/release/libnn_embedded_plain.a -o target/plain-c && ./target/plain-c
 *
 * The release build, with LTO: the host's precompiled `core` (built for unwinding) refers to
 * `rust_eh_personality`, which only LTO drops; a firmware target's `core` has no such symbol.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void nn_digits_forward(const float input[784], float output[10]);
uint32_t nn_digits_classify(const float input[784]);

/* Pixel `p` of test image `image`: the formula of `pixel` in src/net.rs. */
static float pixel(int image, int p) {
    int row = p / 28, col = p % 28, slope = image % 5 + 1;
    int on = (row * slope + image * 3) % 28 == col || (col + image) % 9 == 0;
    return on ? 1.0f : (float)((row + col + image) % 7) / 28.0f;
}

int main(void) {
    enum { IMAGES = 8 };
    for (int image = 0; image < IMAGES; image++) {
        float x[784], p[10];
        for (int k = 0; k < 784; k++) {
            x[k] = pixel(image, k);
        }
        nn_digits_forward(x, p);
        for (int k = 0; k < 10; k++) {
            uint32_t bits;
            memcpy(&bits, &p[k], sizeof bits);
            printf("%08x ", bits);
        }
        printf("%u\n", nn_digits_classify(x));
    }
    return 0;
}
