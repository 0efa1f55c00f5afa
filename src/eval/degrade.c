/* Corruptions of real clips for metric sanity checks; see degrade.h. */
#include "eval/degrade.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"

static const char *const names[VG_DEGRADE_COUNT] = {"noise", "blur", "shuffle", "freeze"};

const char *vg_degrade_name(vg_degrade_kind k) { return (unsigned)k < VG_DEGRADE_COUNT ? names[k] : "?"; }

int vg_degrade_parse(const char *s, vg_degrade_kind *out) {
    for (int i = 0; i < VG_DEGRADE_COUNT; i++)
        if (s && strcmp(s, names[i]) == 0) {
            *out = (vg_degrade_kind)i;
            return 1;
        }
    return 0;
}

/* The stream of clip `index`: seeds differ per clip, draws by counter. */
static uint64_t clip_stream(uint64_t seed, int64_t index) { return seed * 0xD1B54A32D192ED03ull + (uint64_t)index; }

static void add_noise(float *x, int64_t numel, double sigma, uint64_t stream) {
    for (int64_t i = 0; i < numel; i++) {
        double v = x[i] + sigma * vg_rng_normal_at(stream, (uint64_t)i);
        x[i] = (float)(v < -1 ? -1 : v > 1 ? 1 : v);
    }
}

/* One pass of a 1-D kernel (radius r) along a line of `len` values spaced
 * `step` apart, edges clamped; tmp holds len values. */
static void blur_line(float *x, int64_t step, int len, const double *k, int r, float *tmp) {
    for (int i = 0; i < len; i++) tmp[i] = x[(int64_t)i * step];
    for (int i = 0; i < len; i++) {
        double s = 0;
        for (int j = -r; j <= r; j++) {
            int p = i + j < 0 ? 0 : i + j >= len ? len - 1 : i + j;
            s += k[j + r] * tmp[p];
        }
        x[(int64_t)i * step] = (float)s;
    }
}

static void move_frames(float *clip, float *scratch, int C, int T, int64_t HW, const int *src) {
    memcpy(scratch, clip, (size_t)C * (size_t)T * (size_t)HW * sizeof *clip);
    for (int c = 0; c < C; c++)
        for (int t = 0; t < T; t++)
            memcpy(clip + ((int64_t)c * T + t) * HW, scratch + ((int64_t)c * T + src[t]) * HW, (size_t)HW * sizeof *clip);
}

vg_status vg_degrade(vg_degrade_kind kind, double strength, float *clips, int64_t n, int C, int T, int H, int W, uint64_t seed,
                     int64_t first_index) {
    if ((unsigned)kind >= VG_DEGRADE_COUNT) return vg_fail(VG_ERR_INVALID, "degrade: unknown corruption %d", (int)kind);
    if (!(strength >= 0) || !isfinite(strength))
        return vg_fail(VG_ERR_INVALID, "degrade %s: strength must be finite and >= 0, got %g", names[kind], strength);
    if ((kind == VG_DEGRADE_SHUFFLE || kind == VG_DEGRADE_FREEZE) && strength > 1)
        return vg_fail(VG_ERR_INVALID, "degrade %s: strength is a fraction of frames in [0, 1], got %g", names[kind], strength);
    if (kind == VG_DEGRADE_BLUR && strength > 64)
        return vg_fail(VG_ERR_INVALID, "degrade blur: sigma must be <= 64 pixels, got %g", strength);
    if (n < 0 || C < 1 || T < 1 || T > 4096 || H < 1 || W < 1)
        return vg_fail(VG_ERR_INVALID, "degrade: bad clip shape n %lld, (C %d, T %d, H %d, W %d)", (long long)n, C, T, H, W);
    if (strength == 0) return VG_OK;
    const int64_t HW = (int64_t)H * W, clip = (int64_t)C * T * HW;
    int r = 0;
    double *kernel = NULL;
    float *tmp = NULL;
    int *src = NULL;
    if (kind == VG_DEGRADE_BLUR) {
        r = (int)ceil(3 * strength);
        kernel = malloc((size_t)(2 * r + 1) * sizeof *kernel);
        tmp = malloc((size_t)(H > W ? H : W) * sizeof *tmp);
        if (kernel && tmp) {
            double s = 0;
            for (int j = -r; j <= r; j++) s += kernel[j + r] = exp(-0.5 * j * j / (strength * strength));
            for (int j = 0; j <= 2 * r; j++) kernel[j] /= s;
        }
    } else if (kind != VG_DEGRADE_NOISE) {
        src = malloc((size_t)T * 2 * sizeof *src);
        tmp = malloc((size_t)clip * sizeof *tmp);
    }
    if ((kind == VG_DEGRADE_BLUR && (!kernel || !tmp)) || (kind > VG_DEGRADE_BLUR && (!src || !tmp))) {
        free(kernel), free(tmp), free(src);
        return vg_fail(VG_ERR_NOMEM, "degrade %s: out of memory", names[kind]);
    }
    for (int64_t i = 0; i < n; i++) {
        float *x = clips + i * clip;
        uint64_t stream = clip_stream(seed, first_index + i);
        switch (kind) {
        case VG_DEGRADE_NOISE: add_noise(x, clip, strength, stream); break;
        case VG_DEGRADE_BLUR:
            for (int64_t f = 0; f < (int64_t)C * T; f++) {
                float *fr = x + f * HW;
                for (int y = 0; y < H; y++) blur_line(fr + (int64_t)y * W, 1, W, kernel, r, tmp);
                for (int xx = 0; xx < W; xx++) blur_line(fr + xx, W, H, kernel, r, tmp);
            }
            break;
        case VG_DEGRADE_SHUFFLE: {
            int m = (int)lround(strength * T), *pos = src + T;
            if (m < 2) break;
            for (int t = 0; t < T; t++) pos[t] = t;
            for (int t = T - 1; t > 0; t--) { /* Fisher-Yates: the first m of pos are the chosen frames */
                int j = (int)(vg_rng_uniform_at(stream, (uint64_t)t) * (t + 1));
                int s = pos[t];
                pos[t] = pos[j], pos[j] = s;
            }
            int shift = 1 + (int)(vg_rng_uniform_at(stream, (uint64_t)T) * (m - 1)); /* in [1, m) */
            for (int t = 0; t < T; t++) src[t] = t;
            for (int j = 0; j < m; j++) src[pos[j]] = pos[(j + shift) % m];
            move_frames(x, tmp, C, T, HW, src);
            break;
        }
        case VG_DEGRADE_FREEZE: {
            int k = T - 1 - (int)lround(strength * (T - 1));
            for (int t = 0; t < T; t++) src[t] = t < k ? t : k;
            move_frames(x, tmp, C, T, HW, src);
            break;
        }
        case VG_DEGRADE_COUNT: break;
        }
    }
    free(kernel), free(tmp), free(src);
    return VG_OK;
}
