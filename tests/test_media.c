/* test_media.c — video frames, grids, palette, GIF and PNG writers.
 *
 * Synthetic videos (moving gradient + coloured square, few flat colours,
 * grayscale, odd size, 256-colour noise) are written as GIF and PNG, then
 * read back three ways: ffprobe (frame count, size, rate), ffmpeg decoding to
 * raw RGB (pixel error against the source), and a strict GIF decoder below
 * (exact structure, LZW code widths, end code, sub-blocks). ffprobe/ffmpeg
 * are required: without them this test fails. Temporary files live in a
 * mkdtemp directory that is removed at the end. */
#include <dirent.h>
#include <errno.h>
#include <png.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/gif.h"
#include "io/png_frames.h"
#include "io/quantize.h"
#include "io/video_frames.h"
#include "test.h"
#include "vidgan.h"

static char tmpdir[256];
static int have_tools; /* ffprobe and ffmpeg both run */

/* ---- helpers ------------------------------------------------------------------- */

static uint64_t rng_state = 0x853c49e6748fea9bull;
static uint32_t rnd(void) { /* xorshift64*: fixed sequence */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *p = malloc(cap);
    size_t r;
    while (p && (r = fread(p + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) p = realloc(p, cap *= 2);
    }
    fclose(f);
    *len = n;
    return p;
}

static int write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fputs(s, f);
    return fclose(f) == 0;
}

/* Files in tmpdir whose name contains ".tmp." (left-over temporaries). */
static int count_temps(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    if (!d) return -1;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

/* Runs cmd, captures up to cap bytes of stdout; returns the exit status
 * (127 if the shell could not find the program), -1 if popen failed. */
static int run_capture(const char *cmd, uint8_t *out, size_t cap, size_t *len) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = 0, r;
    uint8_t sink[4096];
    while ((r = fread(n < cap ? out + n : sink, 1, n < cap ? cap - n : sizeof sink, p)) > 0) n += r;
    int st = pclose(p);
    *len = n;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Removes path and everything below it (no symlinks followed). */
static void remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        char sub[1024];
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* ffprobe: "width,height,r_frame_rate,avg_frame_rate,nb_read_frames". *rate
 * is avg_frame_rate: for a GIF, r_frame_rate is a guess from the time base
 * (277/12 for 13 cs delays) while avg_frame_rate follows the delays. */
static int probe(const char *path, int *w, int *h, double *rate, int *frames) {
    char cmd[1024], out[512] = {0};
    size_t len;
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -count_frames -select_streams v:0 -show_entries "
             "stream=nb_read_frames,width,height,r_frame_rate,avg_frame_rate -of csv=p=0 '%s'",
             path);
    int rc = run_capture(cmd, (uint8_t *)out, sizeof out - 1, &len);
    CHECK(rc == 0, "ffprobe failed on %s (exit %d)%s", path, rc,
          rc == 127 ? ": ffprobe not found, install the ffmpeg package" : "");
    if (rc != 0) return 0;
    int rn, rd, an, ad;
    int k = sscanf(out, "%d,%d,%d/%d,%d/%d,%d", w, h, &rn, &rd, &an, &ad, frames);
    CHECK(k == 7, "unexpected ffprobe output for %s: %s", path, out);
    if (k != 7) return 0;
    *rate = ad ? (double)an / ad : 0;
    return 1;
}

/* ffmpeg-decoded RGB of a GIF: exactly T*H*W*3 bytes expected. Passthrough
 * timing: by default ffmpeg resamples to the guessed r_frame_rate and
 * repeats frames (16 frames at 13 cs came out as 48). */
static uint8_t *ffmpeg_decode(const char *path, size_t want) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -i '%s' -fps_mode passthrough -f rawvideo -pix_fmt rgb24 -", path);
    uint8_t *buf = malloc(want + 1);
    size_t len = 0;
    int rc = run_capture(cmd, buf, want + 1, &len);
    CHECK(rc == 0, "ffmpeg failed to decode %s (exit %d)%s", path, rc,
          rc == 127 ? ": ffmpeg not found, install the ffmpeg package" : "");
    CHECK(len == want, "%s: ffmpeg decoded %zu bytes, want %zu", path, len, want);
    if (rc != 0 || len != want) {
        free(buf);
        return NULL;
    }
    return buf;
}

static double mae(const uint8_t *a, const uint8_t *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += abs((int)a[i] - (int)b[i]);
    return s / (double)n;
}

/* ---- a strict GIF decoder -----------------------------------------------------------
 * Accepts exactly what vg_gif_write should produce: GIF89a, a global table,
 * optional NETSCAPE2.0 loop block, then per frame a GCE + full-size
 * non-interlaced image without local table, then the trailer. LZW is decoded
 * strictly: the end code must follow the last pixel at the decoder's code
 * width, and nothing but zero padding may follow it. */
typedef struct gif_dec {
    int W, H, T, loop, delay, ncolors;
    uint8_t table[256][3];
    uint8_t *rgb; /* (T, H, W, 3) */
} gif_dec;

static int lzw_decode_strict(const uint8_t *d, size_t n, int m, uint8_t *out, size_t npix, char *why) {
    static uint16_t prefix[4096];
    static uint8_t suffix[4096], first[4096];
    uint8_t stack[4096];
    const int clear = 1 << m, eoi = clear + 1;
    int size = m + 1, next = clear + 2, prev = -1;
    size_t bit = 0, o = 0;
    for (int i = 0; i < clear; i++) suffix[i] = first[i] = (uint8_t)i;
    for (;;) {
        if (bit + (size_t)size > 8 * n) return sprintf(why, "data ended before the end code"), 0;
        int code = 0;
        for (int k = 0; k < size; k++, bit++) code |= ((d[bit >> 3] >> (bit & 7)) & 1) << k;
        if (code == clear) {
            size = m + 1;
            next = clear + 2;
            prev = -1;
            continue;
        }
        if (code == eoi) break;
        if (prev < 0) {
            if (code >= clear) return sprintf(why, "first code %d after clear is not a literal", code), 0;
            if (o >= npix) return sprintf(why, "more than %zu pixels", npix), 0;
            out[o++] = (uint8_t)code;
            prev = code;
            continue;
        }
        int c = code, sp = 0;
        if (code > next || (code == next && next >= 4096)) return sprintf(why, "code %d > next %d", code, next), 0;
        if (code == next) { /* KwKwK */
            stack[sp++] = first[prev];
            c = prev;
        }
        while (c >= clear) {
            stack[sp++] = suffix[c];
            c = prefix[c];
        }
        stack[sp++] = (uint8_t)c;
        if (o + (size_t)sp > npix) return sprintf(why, "more than %zu pixels", npix), 0;
        while (sp > 0) out[o++] = stack[--sp];
        if (next < 4096) {
            prefix[next] = (uint16_t)prev;
            suffix[next] = first[code == next ? prev : code];
            first[next] = first[prev];
            next++;
            if (next == (1 << size) && size < 12) size++;
        }
        prev = code;
    }
    if (o != npix) return sprintf(why, "%zu pixels, want %zu", o, npix), 0;
    for (size_t k = (bit + 7) / 8; k < n; k++)
        if (d[k]) return sprintf(why, "data after the end code"), 0;
    if (n - (bit + 7) / 8 > 0) return sprintf(why, "%zu spare bytes after the end code", n - (bit + 7) / 8), 0;
    if (bit % 8 && (d[bit / 8] >> (bit % 8))) return sprintf(why, "non-zero padding bits"), 0;
    return 1;
}

static int gif_decode_strict(const uint8_t *d, size_t n, gif_dec *g, char *why) {
    memset(g, 0, sizeof *g);
    g->loop = -1;
    g->delay = -1;
    size_t p = 13;
    if (n < 14 || memcmp(d, "GIF89a", 6)) return sprintf(why, "not GIF89a"), 0;
    g->W = d[6] | d[7] << 8;
    g->H = d[8] | d[9] << 8;
    if (!(d[10] & 0x80)) return sprintf(why, "no global colour table"), 0;
    g->ncolors = 2 << (d[10] & 7);
    if (p + 3 * (size_t)g->ncolors > n) return sprintf(why, "truncated table"), 0;
    memcpy(g->table, d + p, 3 * (size_t)g->ncolors);
    p += 3 * (size_t)g->ncolors;
    size_t frame = (size_t)g->W * g->H, cap = 0;
    uint8_t *data = NULL, *idx = malloc(frame);
    int gce = 0, ok = 0;
    while (p < n) {
        uint8_t b = d[p++];
        if (b == 0x3B) {
            if (p != n) sprintf(why, "bytes after the trailer");
            else if (gce) sprintf(why, "GCE without an image");
            else ok = 1;
            break;
        }
        if (b == 0x21 && p + 1 < n && d[p] == 0xFF) {
            if (p + 19 > n || d[p + 1] != 11 || memcmp(d + p + 2, "NETSCAPE2.0", 11) || d[p + 13] != 3 ||
                d[p + 14] != 1 || d[p + 17] != 0) {
                sprintf(why, "bad application extension");
                break;
            }
            g->loop = d[p + 15] | d[p + 16] << 8;
            p += 18;
        } else if (b == 0x21 && p + 1 < n && d[p] == 0xF9) {
            if (p + 7 > n || d[p + 1] != 4 || d[p + 6] != 0 || gce) {
                sprintf(why, "bad graphics control extension");
                break;
            }
            int delay = d[p + 3] | d[p + 4] << 8;
            if (g->delay >= 0 && delay != g->delay) {
                sprintf(why, "delay changes from %d to %d", g->delay, delay);
                break;
            }
            g->delay = delay;
            gce = 1;
            p += 7;
        } else if (b == 0x2C) {
            if (!gce || p + 10 > n || (d[p] | d[p + 1] | d[p + 2] | d[p + 3]) ||
                (d[p + 4] | d[p + 5] << 8) != g->W || (d[p + 6] | d[p + 7] << 8) != g->H || d[p + 8]) {
                sprintf(why, "image %d: not a full-size plain image after a GCE", g->T);
                break;
            }
            int m = d[p + 9];
            p += 10;
            size_t len = 0;
            while (p < n && d[p]) { /* gather the sub-blocks */
                size_t bl = d[p];
                if (p + 1 + bl > n) break;
                if (len + bl > cap) data = realloc(data, cap = 2 * (len + bl));
                memcpy(data + len, d + p + 1, bl);
                len += bl;
                p += 1 + bl;
            }
            if (p >= n) {
                sprintf(why, "image %d: truncated", g->T);
                break;
            }
            p++; /* terminator */
            char lw[128];
            if (m < 2 || m > 8 || !lzw_decode_strict(data, len, m, idx, frame, lw)) {
                sprintf(why, "image %d: LZW (min code size %d): %s", g->T, m, m < 2 || m > 8 ? "bad" : lw);
                break;
            }
            g->rgb = realloc(g->rgb, (g->T + 1) * frame * 3);
            for (size_t i = 0; i < frame; i++) {
                if (idx[i] >= g->ncolors) idx[i] = 0;
                memcpy(g->rgb + (g->T * frame + i) * 3, g->table[idx[i]], 3);
            }
            g->T++;
            gce = 0;
        } else {
            sprintf(why, "unexpected byte 0x%02x at %zu", b, p - 1);
            break;
        }
    }
    if (!ok && p >= n && !why[0]) sprintf(why, "no trailer");
    free(data);
    free(idx);
    return ok;
}

/* ---- synthetic videos (float, C T H W, in [-1, 1]) ------------------------------ */

/* Moving colour gradient with a coloured square sliding across. */
static float *make_gradient(int C, int T, int H, int W) {
    float *x = malloc(sizeof(float) * (size_t)C * T * H * W);
    for (int t = 0; t < T; t++)
        for (int y = 0; y < H; y++)
            for (int i = 0; i < W; i++) {
                double u = (double)i / W + (double)t / T, v = (double)y / H;
                double c3[3] = {0.8 * cos(6.2831853 * u), 1.6 * v - 0.8, 0.7 * sin(6.2831853 * (u + v))};
                int sq = i >= 2 + 2 * t && i < 10 + 2 * t && y >= 4 + t / 2 && y < 12 + t / 2;
                if (sq) c3[0] = 1.0, c3[1] = -0.6, c3[2] = 0.2;
                for (int c = 0; c < C; c++)
                    x[(((size_t)c * T + t) * H + y) * W + i] =
                        (float)(C == 1 ? 0.5 * (c3[0] + c3[1]) : c3[c]);
            }
    return x;
}

/* Flat background and two flat squares: 3 colours. */
static float *make_flat(int T, int H, int W) {
    static const float bg[3] = {-1, -0.5f, 0.2f}, a[3] = {1, 0.4f, -1}, b[3] = {-0.2f, 1, 0.6f};
    float *x = malloc(sizeof(float) * 3 * (size_t)T * H * W);
    for (int t = 0; t < T; t++)
        for (int y = 0; y < H; y++)
            for (int i = 0; i < W; i++) {
                const float *c3 = bg;
                if (i >= t && i < t + 6 && y >= 3 && y < 9) c3 = a;
                if (i >= W - 8 - t && i < W - 2 - t && y >= H - 10 && y < H - 3) c3 = b;
                for (int c = 0; c < 3; c++) x[(((size_t)c * T + t) * H + y) * W + i] = c3[c];
            }
    return x;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_convert(void) {
    float x[2 * 3] = {-1, 1, 0, NAN, 2, -3}; /* C=1, T=1, H=2, W=3 */
    uint8_t rgb[6 * 3];
    CHECK(vg_frames_from_float(rgb, x, 1, 1, 2, 3) == VG_OK, "%s", vg_last_error());
    const uint8_t want[6] = {0, 255, 128, 0, 255, 0};
    for (int i = 0; i < 6; i++)
        CHECK(rgb[3 * i] == want[i] && rgb[3 * i + 1] == want[i] && rgb[3 * i + 2] == want[i],
              "gray pixel %d: %d %d %d, want %d", i, rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], want[i]);
    /* rounding: (x+1)/2*255 to nearest */
    float r[4] = {-1 + 2 * 0.4f / 255, -1 + 2 * 0.6f / 255, -1 + 2 * 100.49f / 255, -1 + 2 * 100.51f / 255};
    uint8_t o[12];
    CHECK(vg_frames_from_float(o, r, 1, 1, 1, 4) == VG_OK, "%s", vg_last_error());
    CHECK(o[0] == 0 && o[3] == 1 && o[6] == 100 && o[9] == 101, "rounding: %d %d %d %d", o[0], o[3], o[6], o[9]);
    /* C=3: planes (C, T, H, W) interleave into (T, H, W, 3) */
    float c3[3 * 2] = {-1, 1, 0, 0, 1, -1}; /* R plane, G plane, B plane; T=2, H=W=1 */
    CHECK(vg_frames_from_float(o, c3, 3, 2, 1, 1) == VG_OK, "%s", vg_last_error());
    CHECK(o[0] == 0 && o[1] == 128 && o[2] == 255 && o[3] == 255 && o[4] == 128 && o[5] == 0,
          "RGB interleave: %d %d %d / %d %d %d", o[0], o[1], o[2], o[3], o[4], o[5]);
    CHECK(vg_frames_from_float(o, c3, 2, 1, 1, 1) == VG_ERR_INVALID, "C=2 must be rejected");
    size_t nb;
    CHECK(vg_frames_bytes(1 << 30, 1 << 30, 1 << 30, &nb) == VG_ERR_NOMEM, "overflow not caught");
    CHECK(vg_frames_bytes(0, 4, 4, &nb) == VG_ERR_INVALID, "T=0 accepted");
}

static void test_grid(void) {
    enum { N = 5, C = 3, T = 2, H = 4, W = 5 };
    float *x = malloc(sizeof(float) * N * C * T * H * W);
    /* video i, channel c, frame t is flat: value code(i, c, t) / 255 */
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < T; t++)
                for (int k = 0; k < H * W; k++)
                    x[((((size_t)i * C + c) * T + t) * H * W) + k] = (float)((10 + 40 * i + 7 * c + 3 * t) / 127.5 - 1);
    vg_grid g;
    CHECK(vg_grid_layout(&g, N, H, W, 0) == VG_OK, "%s", vg_last_error());
    CHECK(g.rows == 2 && g.cols == 3, "5 tiles: %d x %d, want 2 x 3", g.rows, g.cols);
    CHECK(g.H == 2 * H + 3 * VG_GRID_PAD && g.W == 3 * W + 4 * VG_GRID_PAD, "grid %dx%d", g.H, g.W);
    vg_frames f;
    CHECK(vg_frames_grid(&f, x, N, C, T, H, W, 0) == VG_OK, "%s", vg_last_error());
    int bad = 0;
    for (int t = 0; t < T; t++)
        for (int y = 0; y < g.H; y++)
            for (int i = 0; i < g.W; i++) {
                int ty = y - VG_GRID_PAD, tx = i - VG_GRID_PAD;
                int r = ty >= 0 ? ty / (H + VG_GRID_PAD) : -1, c = tx >= 0 ? tx / (W + VG_GRID_PAD) : -1;
                int in = r >= 0 && c >= 0 && ty % (H + VG_GRID_PAD) < H && tx % (W + VG_GRID_PAD) < W &&
                         r < 2 && c < 3 && r * 3 + c < N;
                for (int ch = 0; ch < 3; ch++) {
                    int want = in ? 10 + 40 * (r * 3 + c) + 7 * ch + 3 * t : VG_GRID_PAD_VALUE;
                    int got = f.rgb[(((size_t)t * g.H + y) * g.W + i) * 3 + ch];
                    if (got != want && bad++ < 5)
                        CHECK(0, "grid t=%d y=%d x=%d ch=%d: %d, want %d", t, y, i, ch, got, want);
                }
            }
    CHECK(bad == 0, "%d grid pixels wrong", bad);
    /* the uint8 tiling path gives the same grid */
    uint8_t *tiles = malloc((size_t)N * T * H * W * 3), *out = malloc((size_t)T * g.H * g.W * 3);
    for (int i = 0; i < N; i++)
        vg_frames_from_float(tiles + (size_t)i * T * H * W * 3, x + (size_t)i * C * T * H * W, C, T, H, W);
    CHECK(vg_frames_tile(out, tiles, N, T, H, W, &g) == VG_OK, "%s", vg_last_error());
    CHECK(memcmp(out, f.rgb, (size_t)T * g.H * g.W * 3) == 0, "vg_frames_tile differs from vg_frames_grid");
    /* its first frame as a PNG, decoded back */
    char path[512];
    snprintf(path, sizeof path, "%s/grid.png", tmpdir);
    CHECK(vg_png_write(path, f.rgb, g.H, g.W) == VG_OK, "%s", vg_last_error());
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    uint8_t *dec = malloc((size_t)g.H * g.W * 3);
    int ok = png_image_begin_read_from_file(&im, path);
    im.format = PNG_FORMAT_RGB;
    ok = ok && (int)im.width == g.W && (int)im.height == g.H && png_image_finish_read(&im, NULL, dec, 0, NULL);
    CHECK(ok && memcmp(dec, f.rgb, (size_t)g.H * g.W * 3) == 0, "grid.png does not decode to frame 0");
    png_image_free(&im);
    free(dec);
    /* other layouts and limits */
    CHECK(vg_grid_layout(&g, N, H, W, 2) == VG_OK && g.rows == 3 && g.cols == 2, "cols=2: %dx%d", g.rows, g.cols);
    CHECK(vg_grid_layout(&g, N, H, W, 9) == VG_OK && g.rows == 1 && g.cols == 5, "cols=9: %dx%d", g.rows, g.cols);
    CHECK(vg_grid_layout(&g, 16, H, W, 0) == VG_OK && g.rows == 4 && g.cols == 4, "16: %dx%d", g.rows, g.cols);
    CHECK(vg_grid_layout(&g, 17, H, W, 0) == VG_OK && g.rows == 4 && g.cols == 5, "17: %dx%d", g.rows, g.cols);
    CHECK(vg_grid_layout(&g, 1, H, W, 0) == VG_OK && g.rows == 1 && g.cols == 1, "1: %dx%d", g.rows, g.cols);
    CHECK(vg_grid_layout(&g, 4, 1 << 30, W, 1) == VG_ERR_INVALID, "overflowing grid accepted");
    CHECK(vg_grid_layout(&g, 0, H, W, 0) == VG_ERR_INVALID, "N=0 accepted");
    vg_frames_free(&f);
    free(tiles);
    free(out);
    free(x);
}

static void test_palette(void) {
    enum { NP = 20000 };
    uint8_t *px = malloc(NP * 3), idx[NP];
    for (int i = 0; i < NP * 3; i++) px[i] = (uint8_t)rnd();
    vg_palette pal;
    CHECK(vg_palette_build(&pal, px, NP, 256) == VG_OK, "%s", vg_last_error());
    CHECK(pal.n == 256, "random colours: %d entries, want 256", pal.n);
    /* the pruned search equals brute force on every pixel */
    CHECK(vg_palette_map(idx, &pal, px, 1, 1, NP, 0) == VG_OK, "%s", vg_last_error());
    int bad = 0;
    for (int i = 0; i < NP; i++) bad += idx[i] != vg_palette_nearest(&pal, px[3 * i], px[3 * i + 1], px[3 * i + 2]);
    CHECK(bad == 0, "%d of %d pixels not mapped to the nearest entry", bad, NP);
    CHECK(vg_palette_build(&pal, px, NP, 16) == VG_OK && pal.n == 16, "16 colours: %d", pal.n);
    CHECK(vg_palette_map(idx, &pal, px, 1, 1, NP, 0) == VG_OK, "%s", vg_last_error());
    bad = 0;
    for (int i = 0; i < NP; i++) bad += idx[i] != vg_palette_nearest(&pal, px[3 * i], px[3 * i + 1], px[3 * i + 2]);
    CHECK(bad == 0, "16 colours: %d pixels not mapped to the nearest entry", bad);
    /* few colours: exactly those */
    for (int i = 0; i < NP; i++) memcpy(px + 3 * i, (const uint8_t[3]){(uint8_t)(i % 5 * 50), 7, (uint8_t)(i % 3)}, 3);
    CHECK(vg_palette_build(&pal, px, NP, 256) == VG_OK && pal.n == 15, "15 colours: %d entries", pal.n);
    CHECK(vg_palette_build(&pal, px, 0, 256) == VG_ERR_INVALID, "no pixels accepted");
    CHECK(vg_palette_build(&pal, px, NP, 300) == VG_ERR_INVALID, "300 colours accepted");
    free(px);
}

/* Writes rgb as a GIF and checks it with the strict decoder; with tools,
 * also with ffprobe (frames, size, rate) and an ffmpeg decode (which must
 * match the strict decoder's exactly). Returns the mean absolute error
 * (0..255) of the decoded frames against rgb, 999 on failure. ffprobe and
 * ffmpeg cost ~0.2 s a run, so only the main cases use them. */
enum { STRICT_ONLY = 0, WITH_TOOLS = 1 };
static double check_gif(const char *name, const uint8_t *rgb, int T, int H, int W, const vg_gif_opts *o,
                        int tools) {
    char path[512], why[256] = {0};
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    vg_status s = vg_gif_write_opts(path, rgb, T, H, W, o);
    CHECK(s == VG_OK, "%s: %s", name, vg_last_error());
    if (s != VG_OK) return 999;
    size_t n = (size_t)T * H * W * 3, flen;
    uint8_t *dec = NULL, *file = read_file(path, &flen);
    if (tools && have_tools) {
        int pw = 0, ph = 0, pf = 0;
        double rate = 0;
        if (probe(path, &pw, &ph, &rate, &pf)) {
            CHECK(pf == T && pw == W && ph == H, "%s: ffprobe says %d frames %dx%d, want %d frames %dx%d", name, pf,
                  pw, ph, T, W, H);
            double eff = vg_gif_fps_effective(o->fps);
            if (T >= 3) /* ffprobe gives no average for 1-2 frames */
                CHECK(fabs(rate - eff) < 0.02 * eff, "%s: ffprobe avg_frame_rate %.3f, want %.3f", name, rate, eff);
        }
        dec = ffmpeg_decode(path, n);
    }
    double err = 999;
    gif_dec g;
    int ok = file && gif_decode_strict(file, flen, &g, why);
    CHECK(ok, "%s: strict decoder: %s", name, why);
    if (ok) {
        CHECK(g.T == T && g.W == W && g.H == H, "%s: strict decoder: %d frames %dx%d", name, g.T, g.W, g.H);
        CHECK(g.delay == vg_gif_delay_cs(o->fps), "%s: delay %d cs, want %d", name, g.delay, vg_gif_delay_cs(o->fps));
        CHECK(g.loop == (o->loop >= 0 ? o->loop : -1), "%s: loop %d, want %d", name, g.loop, o->loop);
        if (g.T == T && g.W == W && g.H == H) {
            err = mae(g.rgb, rgb, n);
            if (dec) CHECK(memcmp(g.rgb, dec, n) == 0, "%s: strict decoder and ffmpeg disagree", name);
        }
    }
    if (tools && have_tools && !dec) err = 999;
    free(g.rgb);
    free(file);
    free(dec);
    return err;
}

static void test_gif(void) {
    enum { T = 16, H = 32, W = 48 };
    vg_gif_opts o = vg_gif_opts_default();
    uint8_t *rgb = malloc((size_t)T * H * W * 3);

    float *x = make_gradient(3, T, H, W);
    vg_frames_from_float(rgb, x, 3, T, H, W);
    double e = check_gif("gradient.gif", rgb, T, H, W, &o, WITH_TOOLS);
    printf("gradient 48x32x16: MAE %.3f/255\n", e);
    CHECK(e < 8, "gradient: mean abs error %.3f/255, want < 8", e);
    o.dither = 1;
    e = check_gif("gradient_dither.gif", rgb, T, H, W, &o, STRICT_ONLY);
    printf("gradient dithered: MAE %.3f/255\n", e);
    CHECK(e < 8, "gradient dithered: mean abs error %.3f/255, want < 8", e);
    o.dither = 0;
    o.colors = 16;
    e = check_gif("gradient16.gif", rgb, T, H, W, &o, STRICT_ONLY);
    printf("gradient 16 colours: MAE %.3f/255\n", e);
    CHECK(e < 24, "gradient 16 colours: mean abs error %.3f/255, want < 24", e);
    o.colors = 0;
    free(x);

    x = make_flat(T, H, W);
    vg_frames_from_float(rgb, x, 3, T, H, W);
    o.fps = 25;
    o.loop = 3;
    e = check_gif("flat.gif", rgb, T, H, W, &o, WITH_TOOLS);
    CHECK(e < 3, "flat colours: mean abs error %.3f/255, want < 3", e);
    free(x);

    x = make_gradient(1, T, H, W);
    vg_frames_from_float(rgb, x, 1, T, H, W);
    o.fps = 10;
    o.loop = -1;
    e = check_gif("gray.gif", rgb, T, H, W, &o, WITH_TOOLS);
    printf("grayscale: MAE %.3f/255\n", e);
    CHECK(e < 3, "grayscale: mean abs error %.3f/255, want < 3", e);
    free(x);

    /* odd size, H = 17, W = 33 */
    x = make_gradient(3, 5, 17, 33);
    vg_frames_from_float(rgb, x, 3, 5, 17, 33);
    o = vg_gif_opts_default();
    e = check_gif("odd.gif", rgb, 5, 17, 33, &o, WITH_TOOLS);
    CHECK(e < 8, "odd size: mean abs error %.3f/255, want < 8", e);
    free(x);

    /* 256 exact colours of noise: lossless, and the LZW table fills and
     * clears many times per frame */
    uint8_t cols[256][3];
    for (int i = 0; i < 256; i++)
        for (int c = 0; c < 3; c++) cols[i][c] = (uint8_t)rnd();
    cols[1][0] = cols[0][0] ^ 1; /* make sure no two coincide by chance */
    uint8_t *noise = malloc(3 * 100 * 120 * 3);
    for (int i = 0; i < 3 * 100 * 120; i++) memcpy(noise + 3 * i, cols[i < 256 ? i : (int)(rnd() & 255)], 3);
    e = check_gif("noise.gif", noise, 3, 100, 120, &o, WITH_TOOLS);
    CHECK(e == 0, "256-colour noise: mean abs error %.4f, want 0 (lossless)", e);
    /* 2 colours (1-bit table, minimum code size 2), one frame, one pixel */
    for (int i = 0; i < 3 * 100 * 120; i++) memcpy(noise + 3 * i, cols[rnd() & 1], 3);
    e = check_gif("two.gif", noise, 2, 100, 120, &o, STRICT_ONLY);
    CHECK(e == 0, "2-colour noise: mean abs error %.4f, want 0", e);
    e = check_gif("pixel.gif", noise, 1, 1, 1, &o, STRICT_ONLY);
    CHECK(e == 0, "1x1: mean abs error %.4f, want 0", e);
    /* long runs of one colour: the longest LZW strings */
    memset(noise, 77, 3 * 100 * 120 * 3);
    e = check_gif("flatrun.gif", noise, 3, 100, 120, &o, STRICT_ONLY);
    CHECK(e == 0, "one colour: mean abs error %.4f, want 0", e);

    /* deterministic: same bytes twice */
    uint8_t *a, *b;
    size_t na, nb;
    CHECK(vg_gif_encode(&a, &na, rgb, 5, 17, 33, &o) == VG_OK && vg_gif_encode(&b, &nb, rgb, 5, 17, 33, &o) == VG_OK &&
              na == nb && memcmp(a, b, na) == 0,
          "GIF encoding is not deterministic");
    free(a);
    free(b);

    /* timing */
    CHECK(vg_gif_delay_cs(8) == 13 && vg_gif_delay_cs(24) == 4 && vg_gif_delay_cs(30) == 3 &&
              vg_gif_delay_cs(100) == 2 && vg_gif_delay_cs(0) == 0 && vg_gif_delay_cs(NAN) == 0,
          "delays: %d %d %d %d", vg_gif_delay_cs(8), vg_gif_delay_cs(24), vg_gif_delay_cs(30), vg_gif_delay_cs(100));
    free(noise);
    free(rgb);
}

/* LZW edge cases, in memory through the strict decoder: every length from 1
 * to 700 pixels with 2, 5, 16 and 256 colours puts the end code (and the
 * in-stream clears) at every position relative to a code-width change. */
static void test_lzw_sweep(void) {
    static const int ncol[4] = {2, 5, 16, 256};
    uint8_t *rgb = malloc(700 * 3);
    int bad = 0, runs = 0;
    vg_gif_opts o = vg_gif_opts_default();
    for (int k = 0; k < 4; k++)
        for (int n = 1; n <= 700; n += (n < 300 ? 1 : 7)) {
            for (int i = 0; i < n; i++) {
                /* mostly runs of one colour so long strings occur too */
                uint32_t v = i > 0 && rnd() % 3 == 0 ? 0xFFFFFFFFu : rnd() % (uint32_t)ncol[k];
                if (v == 0xFFFFFFFFu) memcpy(rgb + 3 * i, rgb + 3 * (i - 1), 3);
                else rgb[3 * i] = (uint8_t)v, rgb[3 * i + 1] = (uint8_t)(v * 7), rgb[3 * i + 2] = 3;
            }
            uint8_t *gif;
            size_t len;
            char why[256] = {0};
            gif_dec g = {0};
            runs++;
            if (vg_gif_encode(&gif, &len, rgb, 1, 1, n, &o) != VG_OK) {
                if (bad++ < 3) CHECK(0, "encode %d colours x %d px: %s", ncol[k], n, vg_last_error());
                continue;
            }
            int ok = gif_decode_strict(gif, len, &g, why) && g.T == 1 && memcmp(g.rgb, rgb, (size_t)n * 3) == 0;
            if (!ok && bad++ < 3) CHECK(0, "%d colours x %d px: %s", ncol[k], n, why[0] ? why : "pixels differ");
            free(g.rgb);
            free(gif);
        }
    /* 256 colours of pure noise make about one code per pixel, so lengths
     * around 3840 codes (3880..4080 pixels, as some pairs repeat) put the
     * end code next to the table-full clear */
    rgb = realloc(rgb, 4100 * 3);
    for (int n = 3880; n <= 4080; n++) {
        for (int i = 0; i < n; i++) {
            uint32_t v = i < 256 ? (uint32_t)i : rnd() & 255;
            rgb[3 * i] = (uint8_t)v, rgb[3 * i + 1] = (uint8_t)(v * 7), rgb[3 * i + 2] = 3;
        }
        uint8_t *gif = NULL;
        size_t len = 0;
        char why[256] = {0};
        gif_dec g = {0};
        runs++;
        int ok = vg_gif_encode(&gif, &len, rgb, 1, 1, n, &o) == VG_OK;
        ok = ok && gif_decode_strict(gif, len, &g, why) && g.T == 1 && memcmp(g.rgb, rgb, (size_t)n * 3) == 0;
        if (!ok && bad++ < 3) CHECK(0, "256 colours x %d px: %s", n, why[0] ? why : vg_last_error());
        free(g.rgb);
        free(gif);
    }
    CHECK(bad == 0, "LZW sweep: %d of %d images failed", bad, runs);
    free(rgb);
}

static void test_png_frames(void) {
    enum { T = 4, H = 17, W = 33 };
    float *x = make_gradient(3, T, H, W);
    uint8_t *rgb = malloc((size_t)T * H * W * 3), *dec = malloc((size_t)H * W * 3);
    vg_frames_from_float(rgb, x, 3, T, H, W);
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/frames/sub", tmpdir);
    CHECK(vg_png_frames_write(dir, rgb, T, H, W) == VG_OK, "%s", vg_last_error());
    for (int t = 0; t < T; t++) {
        snprintf(path, sizeof path, "%s/frame_%04d.png", dir, t);
        png_image im;
        memset(&im, 0, sizeof im);
        im.version = PNG_IMAGE_VERSION;
        int ok = png_image_begin_read_from_file(&im, path);
        CHECK(ok, "%s: %s", path, im.message);
        if (!ok) continue;
        im.format = PNG_FORMAT_RGB;
        CHECK(im.width == W && im.height == H, "%s: %ux%u", path, im.width, im.height);
        ok = png_image_finish_read(&im, NULL, dec, 0, NULL);
        CHECK(ok && memcmp(dec, rgb + (size_t)t * H * W * 3, (size_t)H * W * 3) == 0, "%s: pixels differ", path);
        png_image_free(&im);
    }
    snprintf(path, sizeof path, "%s/frame_%04d.png", dir, T);
    CHECK(access(path, F_OK) != 0, "an extra frame %s was written", path);
    /* ffprobe agrees on the sequence */
    int pw, ph, pf;
    double rate;
    snprintf(path, sizeof path, "%s/frame_%%04d.png", dir);
    if (have_tools && probe(path, &pw, &ph, &rate, &pf))
        CHECK(pf == T && pw == W && ph == H, "png sequence: ffprobe says %d frames %dx%d", pf, pw, ph);
    /* writing into an existing directory again is fine; a file is not */
    CHECK(vg_png_frames_write(dir, rgb, T, H, W) == VG_OK, "rewrite: %s", vg_last_error());
    snprintf(path, sizeof path, "%s/afile", tmpdir);
    write_text(path, "x");
    CHECK(vg_png_frames_write(path, rgb, T, H, W) == VG_ERR_IO && strstr(vg_last_error(), "not a directory"),
          "dir is a file: %s", vg_last_error());
    snprintf(path, sizeof path, "%s/afile/below", tmpdir);
    CHECK(vg_png_frames_write(path, rgb, T, H, W) == VG_ERR_IO && strstr(vg_last_error(), "afile"),
          "parent is a file: %s", vg_last_error());
    CHECK(count_temps(dir) == 0, "temporary files left in %s", dir);
    free(x);
    free(rgb);
    free(dec);
}

static void test_errors(void) {
    uint8_t rgb[4 * 4 * 3 * 2] = {0};
    char path[512], msg[1024];
    size_t len;
    /* unwritable location */
    CHECK(vg_gif_write("/nonexistent-vidgan-dir/out.gif", rgb, 2, 4, 4, 8, 0) == VG_ERR_IO &&
              strstr(vg_last_error(), "/nonexistent-vidgan-dir/out.gif") && strstr(vg_last_error(), "No such file"),
          "unwritable path: '%s'", vg_last_error());
    CHECK(vg_png_write("/nonexistent-vidgan-dir/out.png", rgb, 4, 4) == VG_ERR_IO &&
              strstr(vg_last_error(), "/nonexistent-vidgan-dir/out.png"),
          "unwritable png path: '%s'", vg_last_error());
    /* bad arguments leave an existing file alone and name it */
    snprintf(path, sizeof path, "%s/keep.gif", tmpdir);
    write_text(path, "precious");
    CHECK(vg_gif_write(path, rgb, 2, 4, 4, 0, 0) == VG_ERR_INVALID && strstr(vg_last_error(), path) &&
              strstr(vg_last_error(), "fps"),
          "fps 0: '%s'", vg_last_error());
    CHECK(vg_gif_write(path, rgb, 0, 4, 4, 8, 0) == VG_ERR_INVALID, "T=0 accepted");
    CHECK(vg_gif_write(path, rgb, 1, 4, 70000, 8, 0) == VG_ERR_INVALID && strstr(vg_last_error(), "65535"),
          "W=70000: '%s'", vg_last_error());
    CHECK(vg_gif_write(path, rgb, 2, 4, 4, 8, -2) == VG_ERR_INVALID, "loop -2 accepted");
    /* a write that fails half-way (file size limit): old file kept, temp removed */
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 64;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);
    uint8_t *big = malloc(4 * 32 * 32 * 3);
    for (int i = 0; i < 4 * 32 * 32 * 3; i++) big[i] = (uint8_t)rnd();
    vg_status s = vg_gif_write(path, big, 4, 32, 32, 8, 0);
    snprintf(msg, sizeof msg, "%s", vg_last_error());
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    CHECK(s == VG_ERR_IO && strstr(msg, path) && strstr(msg, "write"), "failed write: %s '%s'", vg_status_name(s), msg);
    uint8_t *kept = read_file(path, &len);
    CHECK(kept && len == 8 && memcmp(kept, "precious", 8) == 0, "existing file was modified");
    free(kept);
    CHECK(count_temps(tmpdir) == 0, "temporary file left after a failed write");
    /* the final rename fails (target is a directory): temp removed */
    snprintf(path, sizeof path, "%s/adir.gif", tmpdir);
    mkdir(path, 0777);
    CHECK(vg_gif_write(path, big, 4, 32, 32, 8, 0) == VG_ERR_IO && strstr(vg_last_error(), "rename"),
          "rename onto a directory: '%s'", vg_last_error());
    CHECK(count_temps(tmpdir) == 0, "temporary file left after a failed rename");
    /* and a good write replaces the file whole */
    snprintf(path, sizeof path, "%s/keep.gif", tmpdir);
    CHECK(vg_gif_write(path, big, 4, 32, 32, 8, 0) == VG_OK, "%s", vg_last_error());
    kept = read_file(path, &len);
    CHECK(kept && len > 8 && memcmp(kept, "GIF89a", 6) == 0 && kept[len - 1] == 0x3B, "replacement is not a GIF");
    free(kept);
    free(big);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/vidgan_media_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "cannot create a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    uint8_t ver[256];
    size_t vlen;
    have_tools = run_capture("ffprobe -version", ver, sizeof ver, &vlen) == 0 &&
                 run_capture("ffmpeg -version", ver, sizeof ver, &vlen) == 0;
    CHECK(have_tools, "ffprobe/ffmpeg not found: install the ffmpeg package (the GIF and PNG checks need them)");
    test_convert();
    test_grid();
    test_palette();
    test_gif();
    test_lzw_sweep();
    test_png_frames();
    test_errors();
    remove_tree(tmpdir);
    if (access(tmpdir, F_OK) == 0) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
    TEST_END();
}
