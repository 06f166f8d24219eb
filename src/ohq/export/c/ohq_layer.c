/* ohq C reference of one quantized layer: see ohq_layer.h. */
#include "ohq_layer.h"

#include <stdlib.h>

static int32_t weight_at(const ohq_layer_t *L, long i) {
    return L->weight8 ? (int32_t)L->weight8[i] : (int32_t)L->weight16[i];
}

void ohq_layer_acc(const ohq_layer_t *L, const int32_t *in, int64_t *acc) {
    int cin_g = L->cin / L->groups, cout_g = L->cout / L->groups;
    for (int co = 0; co < L->cout; co++) {
        int g = co / cout_g;
        for (int oy = 0; oy < L->oh; oy++) {
            for (int ox = 0; ox < L->ow; ox++) {
                int64_t sum = 0;
                for (int ci = 0; ci < cin_g; ci++) {
                    const int32_t *plane = in + (long)(g * cin_g + ci) * L->h * L->w;
                    for (int ky = 0; ky < L->kh; ky++) {
                        int iy = oy * L->sh - L->ph + ky * L->dh;
                        if (iy < 0 || iy >= L->h) continue; /* zero padding: x = 0 */
                        for (int kx = 0; kx < L->kw; kx++) {
                            int ix = ox * L->sw - L->pw + kx * L->dw;
                            if (ix < 0 || ix >= L->w) continue;
                            long wi = (((long)co * cin_g + ci) * L->kh + ky) * L->kw + kx;
                            sum += (int64_t)(plane[iy * L->w + ix] - L->in_zero) * weight_at(L, wi);
                        }
                    }
                }
                acc[((long)co * L->oh + oy) * L->ow + ox] = sum + L->bias[co];
            }
        }
    }
}

void ohq_layer_run(const ohq_layer_t *L, const int32_t *in, int32_t *out) {
    long n = (long)L->cout * L->oh * L->ow, plane = (long)L->oh * L->ow;
    int64_t half = L->shift > 0 ? ((int64_t)1 << (L->shift - 1)) : 0;
    int64_t *acc = (int64_t *)malloc(sizeof(int64_t) * (size_t)n);
    if (!acc) return;
    ohq_layer_acc(L, in, acc);
    for (long i = 0; i < n; i++) {
        int co = (int)(i / plane);
        int64_t v = ((acc[i] * (int64_t)L->mult[co] + half) >> L->shift) + L->out_zero;
        if (v < 0) v = 0;
        if (v > L->out_qmax) v = L->out_qmax;
        if (L->relu && v < L->out_zero) v = L->out_zero;
        out[i] = (int32_t)v;
    }
    free(acc);
}
