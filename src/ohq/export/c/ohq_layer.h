/* ohq C reference: one quantized conv/linear layer, exactly as ohq's integer engine runs it.
 *
 *   x   = q_in - in_zero                      (input codes of the layer's quantizer)
 *   acc = sum x * w_code + bias               (int64; weights are integer codes)
 *   out = clamp(((acc * mult[c] + 2^(shift-1)) >> shift) + out_zero, 0, out_qmax)
 *   out = max(out, out_zero) when relu        (ReLU on codes)
 *
 * Layouts follow PyTorch: input [cin][h][w], weight [cout][cin/groups][kh][kw],
 * output [cout][oh][ow]. A linear layer is a conv with h = w = kh = kw = 1.
 * The shift is arithmetic (gcc, clang and MSVC shift signed values arithmetically).
 */
#ifndef OHQ_LAYER_H
#define OHQ_LAYER_H

#include <stdint.h>

typedef struct {
    int cin, cout, h, w, kh, kw, sh, sw, ph, pw, dh, dw, groups, oh, ow;
    int in_zero;
    const int8_t *weight8;   /* codes that fit int8, else NULL */
    const int16_t *weight16; /* codes that need int16, else NULL */
    const int32_t *bias;     /* integer bias in units of in_scale * step[c] */
    const int32_t *mult;     /* dyadic multiplier per output channel; NULL: no requantization */
    int shift;
    int out_zero, out_qmax, relu;
} ohq_layer_t;

/* Accumulators acc[cout][oh][ow] (int64). */
void ohq_layer_acc(const ohq_layer_t *L, const int32_t *in, int64_t *acc);

/* Output codes out[cout][oh][ow]: accumulate, requantize, ReLU. Needs L->mult. */
void ohq_layer_run(const ohq_layer_t *L, const int32_t *in, int32_t *out);

#endif
