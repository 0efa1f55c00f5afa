/* checkpoint.c — save, load, validate, find and prune training checkpoints
 * (see checkpoint.h; the format is described in docs/checkpoints.md).
 *
 * Every path goes through a "plan": the list of tensors a state consists of
 * (name, shape, and where the values live in backend memory), built from the
 * model itself, so the file and the engine cannot disagree about names. A
 * save downloads the plan into one host buffer, checks it is finite and hands
 * it to the atomic safetensors writer. A load checks the file against the
 * plan (every tensor present, F32, right shape, finite, nothing extra) and
 * the metadata against the trainer's configuration before it writes a single
 * value, so a failed load changes nothing. */
#include "train/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/checked.h"
#include "core/status.h"
#include "core/tensor.h"
#include "io/safetensors.h"
#include "ops/ctx.h"

_Static_assert(sizeof(vg_real) == sizeof(float), "checkpoints store the engine's floats as F32");

#define RNG_NAME "philox4x32-10"
#define MODEL_NAME "dcgan3d"

/* ---- plans ---------------------------------------------------------------- */

typedef struct ck_entry {
    char name[192];
    int ndim;
    int64_t shape[VG_MAX_DIMS];
    int64_t numel;
    vg_real *dev; /* backend memory holding the values; NULL when only checked */
    float *host;  /* its slice of the plan's staging buffer */
} ck_entry;

typedef struct ck_plan {
    ck_entry *e;
    int n, cap;
    const vg_backend *be;
    float *staging; /* sum of numel, one allocation */
} ck_plan;

static void plan_free(ck_plan *p) {
    free(p->e);
    free(p->staging);
    memset(p, 0, sizeof *p);
}

/* The module-local name: "G.net.0.weight" -> "net.0.weight". */
static const char *local_name(const char *name, const char *set) {
    size_t n = strlen(set);
    return strncmp(name, set, n) == 0 && name[n] == '.' ? name + n + 1 : name;
}

static vg_status plan_add(ck_plan *p, const char *prefix, const char *name, const vg_tensor *t, vg_real *dev) {
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        ck_entry *e = realloc(p->e, (size_t)cap * sizeof *e);
        if (!e) return vg_fail(VG_ERR_NOMEM, "checkpoint: out of memory");
        p->e = e;
        p->cap = cap;
    }
    ck_entry *e = &p->e[p->n];
    memset(e, 0, sizeof *e);
    int len = snprintf(e->name, sizeof e->name, "%s%s", prefix, name);
    if (len < 0 || (size_t)len >= sizeof e->name)
        return vg_fail(VG_ERR_INVALID, "checkpoint: tensor name '%s%s' is too long", prefix, name);
    e->ndim = t->ndim;
    for (int d = 0; d < t->ndim; d++) e->shape[d] = t->shape[d];
    e->numel = t->numel;
    e->dev = dev;
    p->n++;
    return VG_OK;
}

/* Where tensor t sits in its set's flat value array (the same layout as the
 * EMA shadow; trainable tensors come first, so it is also the offset into
 * Adam's moments). */
static int64_t offset_in(vg_params *P, const vg_tensor *t) { return (int64_t)(t->data - vg_params_data(P)); }

/* Adds the tensors of one set: values under "<set>.", and when wanted the
 * EMA copy and the Adam moments. Arrays may be NULL (names and shapes only). */
static vg_status plan_set(ck_plan *p, vg_params *P, const char *set, int with_ema, vg_real *ema, int with_optim,
                          vg_real *m, vg_real *v) {
    char prefix[64];
    vg_status st = VG_OK;
    for (int i = 0; i < vg_params_count(P) && st == VG_OK; i++) {
        vg_tensor *t = vg_params_get(P, i);
        /* a declared model (vg_dcgan3d_declare) has names and shapes only */
        int64_t off = t->data ? offset_in(P, t) : 0;
        VG_ASSERT(!t->data || (off >= 0 && off + t->numel <= vg_params_numel_all(P)));
        VG_ASSERT(t->data || (!ema && !m && !v));
        const char *local = local_name(vg_params_name(P, i), set);
        snprintf(prefix, sizeof prefix, "%s.", set);
        st = plan_add(p, prefix, local, t, t->data);
        if (st == VG_OK && with_ema) st = plan_add(p, "G_ema.", local, t, ema ? ema + off : NULL);
        if (st != VG_OK || !with_optim || vg_params_is_buffer(P, i)) continue;
        VG_ASSERT(!t->data || off + t->numel <= vg_params_numel(P));
        snprintf(prefix, sizeof prefix, "optim.%s.exp_avg.", set);
        st = plan_add(p, prefix, local, t, m ? m + off : NULL);
        snprintf(prefix, sizeof prefix, "optim.%s.exp_avg_sq.", set);
        if (st == VG_OK) st = plan_add(p, prefix, local, t, v ? v + off : NULL);
    }
    return st;
}

/* The plan of a whole trainer state; without with_optim, of the weights only. */
static vg_status plan_model(ck_plan *p, const vg_dcgan3d *model, int with_ema, vg_real *ema, int with_optim,
                            const vg_adam *og, const vg_adam *od) {
    memset(p, 0, sizeof *p);
    p->be = vg_ctx_backend(vg_params_ctx(model->G));
    vg_status st = plan_set(p, model->G, "G", with_ema, ema, with_optim, og ? og->m : NULL, og ? og->v : NULL);
    if (st == VG_OK) st = plan_set(p, model->D, "D", 0, NULL, with_optim, od ? od->m : NULL, od ? od->v : NULL);
    if (st != VG_OK) plan_free(p);
    return st;
}

/* Host copies for the entries (read_only: those whose values are only read,
 * as a save does, point at the backend's memory itself when it is host
 * memory of floats: a save then copies nothing, where a staging copy of
 * the weights, Adam moments and EMA would double the process's memory). */
static vg_status plan_alloc_staging(ck_plan *p, int read_only) {
    const int alias = read_only && p->be->host_memory && sizeof(vg_real) == sizeof(float);
    int64_t total = 0;
    for (int i = 0; i < p->n; i++) {
        if (alias && p->e[i].dev) continue;
        if (!vg_add_ok(total, p->e[i].numel, &total)) return vg_fail(VG_ERR_NOMEM, "checkpoint: size overflows");
    }
    if ((uint64_t)total > SIZE_MAX / sizeof(float)) return vg_fail(VG_ERR_NOMEM, "checkpoint: size overflows");
    p->staging = malloc((size_t)(total > 0 ? total : 1) * sizeof(float));
    if (!p->staging)
        return vg_fail(VG_ERR_NOMEM, "checkpoint: out of memory staging %lld values", (long long)total);
    int64_t off = 0;
    for (int i = 0; i < p->n; i++) {
        if (alias && p->e[i].dev) {
            p->e[i].host = (float *)p->e[i].dev;
            continue;
        }
        p->e[i].host = p->staging + off;
        off += p->e[i].numel;
    }
    return VG_OK;
}

/* Index of the first non-finite value of x[0..n), or -1. */
static int64_t first_nonfinite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return -1;
}

/* ---- small parsers and formatters ---------------------------------------- */

/* A non-negative decimal integer, digits only, that fits in uint64. */
static int parse_u64(const char *s, uint64_t *out) {
    if (!s || !*s) return 0;
    uint64_t v = 0;
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9') return 0;
        unsigned d = (unsigned)(*c - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static int parse_i64(const char *s, int64_t *out) {
    uint64_t v;
    if (!parse_u64(s, &v) || v > (uint64_t)INT64_MAX) return 0;
    *out = (int64_t)v;
    return 1;
}

/* The shortest %g form of x that reads back as exactly x. */
static void fmt_double(char *buf, size_t cap, double x) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) return;
    }
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* ---- metadata ------------------------------------------------------------- */

typedef struct ck_meta {
    vg_train_config cfg;
    int64_t step, adam_step_g, adam_step_d, skipped;
    uint64_t stream; /* the trainer's random stream (bumped by roll-backs) */
    const char *data; /* points into the file's metadata */
} ck_meta;

/* g_arch, image_d, two_stream, motion_dim, sprite and motion_still are written only when not the defaults (deconv, 0, ...), so checkpoints
 * of the reference model keep the metadata they always had. */
static vg_status model_config_json(char *buf, size_t cap, const vg_dcgan3d_config *m) {
    const char *arch = vg_g_arch_name(m->g_arch);
    if (!arch) return vg_fail(VG_ERR_INVALID, "checkpoint: unknown generator architecture %d", (int)m->g_arch);
    char arch_field[128] = "";
    if (m->g_arch != VG_G_DECONV) snprintf(arch_field, sizeof arch_field, ",\"g_arch\":\"%s\"", arch);
    if (m->image_d) snprintf(arch_field + strlen(arch_field), sizeof arch_field - strlen(arch_field), ",\"image_d\":1");
    if (m->two_stream)
        snprintf(arch_field + strlen(arch_field), sizeof arch_field - strlen(arch_field), ",\"two_stream\":1");
    if (m->motion_dim)
        snprintf(arch_field + strlen(arch_field), sizeof arch_field - strlen(arch_field), ",\"motion_dim\":%d", m->motion_dim);
    if (m->sprite) snprintf(arch_field + strlen(arch_field), sizeof arch_field - strlen(arch_field), ",\"sprite\":1");
    if (m->motion_still)
        snprintf(arch_field + strlen(arch_field), sizeof arch_field - strlen(arch_field), ",\"motion_still\":1");
    int n = snprintf(buf, cap,
                     "{\"size\":%d,\"frames\":%d,\"channels\":%d,\"z_dim\":%d,\"g_base\":%d,\"d_base\":%d,"
                     "\"spectral_norm\":%d%s}",
                     m->size, m->frames, m->channels, m->z_dim, m->g_base, m->d_base, m->spectral_norm, arch_field);
    return n > 0 && (size_t)n < cap ? VG_OK : vg_fail(VG_ERR_INVALID, "checkpoint: model config too long");
}

/* The stabilisers (label_smooth, instance_noise, noise_steps), mask_l1 and path_l1 are written
 * only when on, so runs without them keep the metadata they always had. */
static vg_status train_config_json(char *buf, size_t cap, const vg_train_config *c) {
    const double vals[] = {c->lr_g,      c->lr_d,         c->beta1,         c->beta2,  c->eps,
                           c->ema_decay, c->label_smooth, c->instance_noise, c->mask_l1, c->path_l1};
    char s[10][32];
    for (int i = 0; i < 10; i++) {
        if (!isfinite(vals[i])) return vg_fail(VG_ERR_NUMERIC, "checkpoint: training configuration has a non-finite value");
        fmt_double(s[i], sizeof s[i], vals[i]);
    }
    const char *loss = vg_gan_loss_name(c->loss);
    if (!loss) return vg_fail(VG_ERR_INVALID, "checkpoint: unknown loss %d", (int)c->loss);
    char extra[288] = "";
    if (c->label_smooth != 0) snprintf(extra, sizeof extra, ",\"label_smooth\":%s", s[6]);
    if (c->instance_noise != 0)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), ",\"instance_noise\":%s,\"noise_steps\":%lld", s[7],
                 (long long)c->noise_steps);
    if (c->mask_l1 != 0) snprintf(extra + strlen(extra), sizeof extra - strlen(extra), ",\"mask_l1\":%s", s[8]);
    if (c->path_l1 != 0) snprintf(extra + strlen(extra), sizeof extra - strlen(extra), ",\"path_l1\":%s", s[9]);
    int n = snprintf(buf, cap,
                     "{\"loss\":\"%s\",\"batch\":%d,\"d_steps\":%d,\"lr_g\":%s,\"lr_d\":%s,\"beta1\":%s,\"beta2\":%s,"
                     "\"eps\":%s,\"ema_decay\":%s,\"seed\":\"%llu\"%s}",
                     loss, c->batch, c->d_steps, s[0], s[1], s[2], s[3], s[4], s[5], (unsigned long long)c->seed, extra);
    return n > 0 && (size_t)n < cap ? VG_OK : vg_fail(VG_ERR_INVALID, "checkpoint: train config too long");
}

/* Parses metadata `key` of f as a JSON object; names the file and key on failure. */
static vg_status meta_object(const vg_st_file *f, const char *key, json_t **out) {
    *out = NULL;
    const char *text = vg_st_meta(f, key);
    if (!text) return vg_fail(VG_ERR_FORMAT, "%s: metadata '%s' is missing", vg_st_path(f), key);
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!j) return vg_fail(VG_ERR_FORMAT, "%s: metadata '%s' is not valid JSON (%s)", vg_st_path(f), key, err.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return vg_fail(VG_ERR_FORMAT, "%s: metadata '%s' is not a JSON object", vg_st_path(f), key);
    }
    *out = j;
    return VG_OK;
}

static vg_status json_int_field(const vg_st_file *f, const char *obj, const json_t *j, const char *key, int *out) {
    const json_t *v = json_object_get(j, key);
    if (!v || !json_is_integer(v) || json_integer_value(v) < -2147483647 || json_integer_value(v) > 2147483647)
        return vg_fail(VG_ERR_FORMAT, "%s: metadata %s.%s is missing or not an integer", vg_st_path(f), obj, key);
    *out = (int)json_integer_value(v);
    return VG_OK;
}

static vg_status json_num_field(const vg_st_file *f, const char *obj, const json_t *j, const char *key, double *out) {
    const json_t *v = json_object_get(j, key);
    if (!v || !json_is_number(v))
        return vg_fail(VG_ERR_FORMAT, "%s: metadata %s.%s is missing or not a number", vg_st_path(f), obj, key);
    *out = json_number_value(v);
    return VG_OK;
}

/* A 64-bit integer written as a decimal string. */
static vg_status json_u64_field(const vg_st_file *f, const char *obj, const json_t *j, const char *key, uint64_t *out) {
    const json_t *v = json_object_get(j, key);
    if (!v || !json_is_string(v) || !parse_u64(json_string_value(v), out))
        return vg_fail(VG_ERR_FORMAT, "%s: metadata %s.%s is missing or not a decimal string of a 64-bit integer",
                       vg_st_path(f), obj, key);
    return VG_OK;
}

static vg_status meta_i64(const vg_st_file *f, const char *key, int64_t *out) {
    const char *s = vg_st_meta(f, key);
    if (!s) return vg_fail(VG_ERR_FORMAT, "%s: metadata '%s' is missing", vg_st_path(f), key);
    if (!parse_i64(s, out))
        return vg_fail(VG_ERR_FORMAT, "%s: metadata '%s' is \"%.40s\", not a non-negative integer", vg_st_path(f), key, s);
    return VG_OK;
}

/* Checks f is a vidgan checkpoint of a version this build reads and parses
 * every metadata entry it relies on. */
static vg_status meta_parse(const vg_st_file *f, ck_meta *m) {
    const char *path = vg_st_path(f);
    memset(m, 0, sizeof *m);
    const char *format = vg_st_meta(f, "format");
    if (!format) return vg_fail(VG_ERR_FORMAT, "%s: not a vidgan checkpoint (no format metadata)", path);
    if (strcmp(format, VG_CKPT_FORMAT) != 0)
        return vg_fail(VG_ERR_FORMAT, "%s: not a vidgan checkpoint (format is \"%.60s\")", path, format);
    const char *version = vg_st_meta(f, "format_version");
    int64_t ver;
    if (!version) return vg_fail(VG_ERR_FORMAT, "%s: metadata 'format_version' is missing", path);
    if (!parse_i64(version, &ver) || ver != VG_CKPT_FORMAT_VERSION)
        return vg_fail(VG_ERR_FORMAT, "%s: unsupported checkpoint format_version \"%.40s\" (this vidgan reads %d)", path,
                       version, VG_CKPT_FORMAT_VERSION);
    const char *model = vg_st_meta(f, "model");
    if (!model || strcmp(model, MODEL_NAME) != 0)
        return vg_fail(VG_ERR_FORMAT, "%s: model \"%.60s\" is not one this vidgan builds (expected " MODEL_NAME ")", path,
                       model ? model : "(missing)");

    json_t *j = NULL;
    vg_status st = meta_object(f, "model_config", &j);
    vg_dcgan3d_config *mc = &m->cfg.model;
    if (st == VG_OK) st = json_int_field(f, "model_config", j, "size", &mc->size);
    if (st == VG_OK) st = json_int_field(f, "model_config", j, "frames", &mc->frames);
    if (st == VG_OK) st = json_int_field(f, "model_config", j, "channels", &mc->channels);
    if (st == VG_OK) st = json_int_field(f, "model_config", j, "z_dim", &mc->z_dim);
    if (st == VG_OK) st = json_int_field(f, "model_config", j, "g_base", &mc->g_base);
    if (st == VG_OK) st = json_int_field(f, "model_config", j, "d_base", &mc->d_base);
    if (st == VG_OK) st = json_int_field(f, "model_config", j, "spectral_norm", &mc->spectral_norm);
    if (st == VG_OK) {
        const json_t *arch = json_object_get(j, "g_arch"); /* absent: deconv */
        mc->g_arch = VG_G_DECONV;
        if (arch && (!json_is_string(arch) || !vg_g_arch_parse(json_string_value(arch), &mc->g_arch)))
            st = vg_fail(VG_ERR_FORMAT, "%s: metadata model_config.g_arch is not a known generator architecture (deconv, resize)",
                         path);
    }
    /* absent: no image discriminator, one stream, no sprite, MoCoGAN's per-frame motion noise */
    mc->image_d = mc->two_stream = mc->sprite = mc->motion_still = 0;
    const char *flags[4] = {"image_d", "two_stream", "sprite", "motion_still"};
    int *flag_fields[4] = {&mc->image_d, &mc->two_stream, &mc->sprite, &mc->motion_still};
    for (int i = 0; i < 4 && st == VG_OK; i++) {
        if (!json_object_get(j, flags[i])) continue;
        st = json_int_field(f, "model_config", j, flags[i], flag_fields[i]);
        if (st == VG_OK && *flag_fields[i] != 0 && *flag_fields[i] != 1)
            st = vg_fail(VG_ERR_FORMAT, "%s: metadata model_config.%s must be 0 or 1, got %d", path, flags[i], *flag_fields[i]);
    }
    mc->motion_dim = 0; /* absent: no motion code */
    if (st == VG_OK && json_object_get(j, "motion_dim")) {
        st = json_int_field(f, "model_config", j, "motion_dim", &mc->motion_dim);
        if (st == VG_OK && (mc->motion_dim < 0 || mc->motion_dim > 1024))
            st = vg_fail(VG_ERR_FORMAT, "%s: metadata model_config.motion_dim must be in [0, 1024], got %d", path, mc->motion_dim);
    }
    json_decref(j);
    if (st != VG_OK) return st;

    vg_train_config *c = &m->cfg;
    st = meta_object(f, "train_config", &j);
    if (st == VG_OK) {
        const json_t *loss = json_object_get(j, "loss");
        if (!loss || !json_is_string(loss) || !vg_gan_loss_parse(json_string_value(loss), &c->loss))
            st = vg_fail(VG_ERR_FORMAT, "%s: metadata train_config.loss is missing or not a known loss", path);
    }
    if (st == VG_OK) st = json_int_field(f, "train_config", j, "batch", &c->batch);
    if (st == VG_OK) st = json_int_field(f, "train_config", j, "d_steps", &c->d_steps);
    if (st == VG_OK) st = json_num_field(f, "train_config", j, "lr_g", &c->lr_g);
    if (st == VG_OK) st = json_num_field(f, "train_config", j, "lr_d", &c->lr_d);
    if (st == VG_OK) st = json_num_field(f, "train_config", j, "beta1", &c->beta1);
    if (st == VG_OK) st = json_num_field(f, "train_config", j, "beta2", &c->beta2);
    if (st == VG_OK) st = json_num_field(f, "train_config", j, "eps", &c->eps);
    if (st == VG_OK) st = json_num_field(f, "train_config", j, "ema_decay", &c->ema_decay);
    if (st == VG_OK) st = json_u64_field(f, "train_config", j, "seed", &c->seed);
    c->label_smooth = c->instance_noise = c->mask_l1 = c->path_l1 = 0; /* absent: off */
    c->noise_steps = 0;
    if (st == VG_OK && json_object_get(j, "label_smooth"))
        st = json_num_field(f, "train_config", j, "label_smooth", &c->label_smooth);
    const char *penalties[2] = {"mask_l1", "path_l1"}; /* weights >= 0 */
    double *penalty_fields[2] = {&c->mask_l1, &c->path_l1};
    for (int i = 0; i < 2 && st == VG_OK; i++) {
        if (!json_object_get(j, penalties[i])) continue;
        st = json_num_field(f, "train_config", j, penalties[i], penalty_fields[i]);
        if (st == VG_OK && !(*penalty_fields[i] >= 0))
            st = vg_fail(VG_ERR_FORMAT, "%s: metadata train_config.%s must be >= 0, got %g", path, penalties[i],
                         *penalty_fields[i]);
    }
    if (st == VG_OK && json_object_get(j, "instance_noise")) {
        double steps = 0;
        st = json_num_field(f, "train_config", j, "instance_noise", &c->instance_noise);
        if (st == VG_OK) st = json_num_field(f, "train_config", j, "noise_steps", &steps);
        if (st == VG_OK && (steps < 0 || steps > 9e15 || steps != floor(steps)))
            st = vg_fail(VG_ERR_FORMAT, "%s: metadata train_config.noise_steps is not a step count", path);
        c->noise_steps = (int64_t)steps;
    }
    json_decref(j);
    if (st != VG_OK) return st;

    if ((st = meta_i64(f, "step", &m->step)) != VG_OK) return st;
    if ((st = meta_i64(f, "adam_step_g", &m->adam_step_g)) != VG_OK) return st;
    if ((st = meta_i64(f, "adam_step_d", &m->adam_step_d)) != VG_OK) return st;
    if ((st = meta_i64(f, "skipped", &m->skipped)) != VG_OK) return st;

    /* the generator state: must describe the same stream as the configuration */
    if ((st = meta_object(f, "rng", &j)) != VG_OK) return st;
    const json_t *gen = json_object_get(j, "generator");
    uint64_t seed = 0, step = 0;
    if (!gen || !json_is_string(gen) || strcmp(json_string_value(gen), RNG_NAME) != 0)
        st = vg_fail(VG_ERR_FORMAT, "%s: metadata rng.generator is not \"" RNG_NAME "\"", path);
    if (st == VG_OK) st = json_u64_field(f, "rng", j, "seed", &seed);
    if (st == VG_OK) st = json_u64_field(f, "rng", j, "step", &step);
    if (st == VG_OK) st = json_u64_field(f, "rng", j, "stream", &m->stream);
    json_decref(j);
    if (st != VG_OK) return st;
    if (seed != c->seed || step != (uint64_t)m->step)
        return vg_fail(VG_ERR_FORMAT, "%s: metadata rng (seed %llu, step %llu) disagrees with train_config.seed %llu / step %lld",
                       path, (unsigned long long)seed, (unsigned long long)step, (unsigned long long)c->seed,
                       (long long)m->step);

    m->data = vg_st_meta(f, "data");
    if (!m->data) return vg_fail(VG_ERR_FORMAT, "%s: metadata 'data' is missing", path);
    json_error_t err;
    json_t *d = json_loads(m->data, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (!d) return vg_fail(VG_ERR_FORMAT, "%s: metadata 'data' is not valid JSON (%s)", path, err.text);
    json_decref(d);
    return VG_OK;
}

/* Every field of the trainer's configuration must equal the file's. */
static vg_status config_compare(const char *path, const vg_train_config *file, const vg_train_config *mine) {
    char a[32], b[32];
#define CMP_INT(obj, field)                                                                                      \
    if (file->field != mine->field)                                                                              \
        return vg_fail(VG_ERR_INVALID, "%s: " obj " differs: the checkpoint has %lld, the trainer %lld", path,   \
                       (long long)file->field, (long long)mine->field);
#define CMP_REAL(obj, field)                                                                                     \
    if (file->field != mine->field) {                                                                            \
        fmt_double(a, sizeof a, file->field);                                                                    \
        fmt_double(b, sizeof b, mine->field);                                                                    \
        return vg_fail(VG_ERR_INVALID, "%s: " obj " differs: the checkpoint has %s, the trainer %s", path, a, b); \
    }
    CMP_INT("model_config.size", model.size)
    CMP_INT("model_config.frames", model.frames)
    CMP_INT("model_config.channels", model.channels)
    CMP_INT("model_config.z_dim", model.z_dim)
    CMP_INT("model_config.g_base", model.g_base)
    CMP_INT("model_config.d_base", model.d_base)
    CMP_INT("model_config.spectral_norm", model.spectral_norm)
    CMP_INT("model_config.image_d", model.image_d)
    CMP_INT("model_config.two_stream", model.two_stream)
    CMP_INT("model_config.motion_dim", model.motion_dim)
    CMP_INT("model_config.sprite", model.sprite)
    CMP_INT("model_config.motion_still", model.motion_still)
    if (file->model.g_arch != mine->model.g_arch)
        return vg_fail(VG_ERR_INVALID, "%s: model_config.g_arch differs: the checkpoint has %s, the trainer %s", path,
                       vg_g_arch_name(file->model.g_arch), vg_g_arch_name(mine->model.g_arch));
    if (file->loss != mine->loss)
        return vg_fail(VG_ERR_INVALID, "%s: train_config.loss differs: the checkpoint has %s, the trainer %s", path,
                       vg_gan_loss_name(file->loss), vg_gan_loss_name(mine->loss));
    CMP_INT("train_config.batch", batch)
    CMP_INT("train_config.d_steps", d_steps)
    CMP_REAL("train_config.lr_g", lr_g)
    CMP_REAL("train_config.lr_d", lr_d)
    CMP_REAL("train_config.beta1", beta1)
    CMP_REAL("train_config.beta2", beta2)
    CMP_REAL("train_config.eps", eps)
    CMP_REAL("train_config.ema_decay", ema_decay)
    CMP_REAL("train_config.label_smooth", label_smooth)
    CMP_REAL("train_config.instance_noise", instance_noise)
    CMP_REAL("train_config.mask_l1", mask_l1)
    CMP_REAL("train_config.path_l1", path_l1)
    CMP_INT("train_config.noise_steps", noise_steps)
    if (file->seed != mine->seed)
        return vg_fail(VG_ERR_INVALID, "%s: train_config.seed differs: the checkpoint has %llu, the trainer %llu", path,
                       (unsigned long long)file->seed, (unsigned long long)mine->seed);
#undef CMP_INT
#undef CMP_REAL
    return VG_OK;
}

/* ---- file vs plan ----------------------------------------------------------- */

static const char *shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}

/* Every plan tensor present, F32, of the plan's shape and finite; with
 * exact, no other tensor in the file. */
static vg_status plan_check_file(const ck_plan *p, const vg_st_file *f, int exact) {
    const char *path = vg_st_path(f);
    for (int i = 0; i < p->n; i++) {
        const ck_entry *e = &p->e[i];
        int k = vg_st_find(f, e->name);
        if (k < 0) return vg_fail(VG_ERR_FORMAT, "%s: tensor '%s' is missing", path, e->name);
        if (vg_st_dtype_of(f, k) != VG_ST_F32)
            return vg_fail(VG_ERR_FORMAT, "%s: tensor '%s' is %s, a checkpoint stores F32", path, e->name,
                           vg_st_dtype_name(vg_st_dtype_of(f, k)));
        int same = vg_st_ndim(f, k) == e->ndim;
        for (int d = 0; same && d < e->ndim; d++) same = vg_st_shape(f, k)[d] == e->shape[d];
        if (!same) {
            char got[128], want[128];
            return vg_fail(VG_ERR_FORMAT, "%s: tensor '%s' has shape %s, the model needs %s", path, e->name,
                           shape_str(got, sizeof got, vg_st_ndim(f, k), vg_st_shape(f, k)),
                           shape_str(want, sizeof want, e->ndim, e->shape));
        }
        /* the values, a bounded piece at a time (the file is read, not held) */
        float piece[4096];
        for (int64_t j0 = 0; j0 < e->numel; j0 += 4096) {
            const int64_t m = e->numel - j0 < 4096 ? e->numel - j0 : 4096;
            vg_status st = vg_st_read_bytes(f, k, (size_t)j0 * sizeof(float), piece, (size_t)m * sizeof(float));
            if (st != VG_OK) return st;
            int64_t bad = first_nonfinite(piece, m);
            if (bad >= 0)
                return vg_fail(VG_ERR_NUMERIC, "%s: tensor '%s' holds a non-finite value (%g at element %lld)", path,
                               e->name, (double)piece[bad], (long long)(j0 + bad));
        }
    }
    if (exact && vg_st_count(f) != p->n)
        for (int k = 0; k < vg_st_count(f); k++) {
            int found = 0;
            for (int i = 0; i < p->n && !found; i++) found = strcmp(p->e[i].name, vg_st_name(f, k)) == 0;
            if (!found)
                return vg_fail(VG_ERR_FORMAT, "%s: tensor '%s' does not belong to this model", path, vg_st_name(f, k));
        }
    return VG_OK;
}

/* Copies the file's tensors (already checked) into the plan's backend
 * memory. When from is given, plan names starting with `to` are read from
 * the file under `from` instead ("G.net.0.weight" <- "G_ema.net.0.weight"). */
static vg_status plan_read(ck_plan *p, const vg_st_file *f, const char *from, const char *to) {
    vg_status st = plan_alloc_staging(p, 0); /* the model changes only once every tensor has been read */
    if (st != VG_OK) return st;
    for (int i = 0; i < p->n && st == VG_OK; i++) {
        ck_entry *e = &p->e[i];
        char name[256];
        if (from && strncmp(e->name, to, strlen(to)) == 0)
            snprintf(name, sizeof name, "%s%s", from, e->name + strlen(to));
        else
            snprintf(name, sizeof name, "%s", e->name);
        st = vg_st_read_f32(f, name, e->host, e->numel);
    }
    if (st != VG_OK) return st;
    for (int i = 0; i < p->n; i++)
        if (p->e[i].dev) p->be->upload(p->e[i].dev, p->e[i].host, (size_t)p->e[i].numel * sizeof(float));
    return VG_OK;
}

/* Opens and parses a checkpoint's metadata. */
static vg_status ckpt_open(const char *path, vg_st_file **f, ck_meta *m) {
    vg_status st = vg_st_open_header(f, path); /* the tensors are read as needed, not held */
    if (st != VG_OK) return st;
    st = meta_parse(*f, m);
    if (st != VG_OK) {
        vg_st_close(*f);
        *f = NULL;
    }
    return st;
}

/* ---- save and load ---------------------------------------------------------- */

vg_status vg_ckpt_save(const vg_trainer *t, const char *data_json, const char *path) {
    if (!t || !t->ctx || !t->model.G || !path) return vg_fail(VG_ERR_INVALID, "checkpoint save: no trainer or path");
    const vg_train_config *c = &t->cfg;
    int with_ema = t->ema.params != NULL;
    char model_json[512], train_json[1024], rng_json[256], num[32], when[32];
    vg_status st = model_config_json(model_json, sizeof model_json, &c->model);
    if (st == VG_OK) st = train_config_json(train_json, sizeof train_json, c);
    if (st != VG_OK) return st;
    if (data_json) {
        json_error_t err;
        json_t *d = json_loads(data_json, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
        if (!d) return vg_fail(VG_ERR_INVALID, "%s: the data description is not valid JSON (%s)", path, err.text);
        json_decref(d);
    }
    snprintf(rng_json, sizeof rng_json,
             "{\"generator\":\"" RNG_NAME "\",\"seed\":\"%llu\",\"step\":\"%lld\",\"stream\":\"%llu\"}",
             (unsigned long long)c->seed, (long long)t->step, (unsigned long long)t->stream);

    ck_plan p;
    if ((st = plan_model(&p, &t->model, with_ema, t->ema.shadow, 1, &t->opt_g, &t->opt_d)) != VG_OK) return st;
    if ((st = plan_alloc_staging(&p, 1)) != VG_OK) {
        plan_free(&p);
        return st;
    }
    for (int i = 0; i < p.n; i++) {
        ck_entry *e = &p.e[i];
        if (e->host != (float *)e->dev) p.be->download(e->host, e->dev, (size_t)e->numel * sizeof(float));
        int64_t bad = first_nonfinite(e->host, e->numel);
        if (bad >= 0) {
            st = vg_fail(VG_ERR_NUMERIC, "%s: not saved: tensor '%s' holds a non-finite value (%g at element %lld)", path,
                         e->name, (double)e->host[bad], (long long)bad);
            plan_free(&p);
            return st;
        }
    }

    vg_st_writer *w = NULL;
    st = vg_st_writer_new(&w);
    for (int i = 0; i < p.n && st == VG_OK; i++)
        st = vg_st_writer_add_f32(w, p.e[i].name, p.e[i].ndim, p.e[i].shape, p.e[i].host);
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) == NULL || strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(when, sizeof when, "unknown");
    if (st == VG_OK) st = vg_st_writer_meta(w, "format", VG_CKPT_FORMAT);
    snprintf(num, sizeof num, "%d", VG_CKPT_FORMAT_VERSION);
    if (st == VG_OK) st = vg_st_writer_meta(w, "format_version", num);
    if (st == VG_OK) st = vg_st_writer_meta(w, "model", MODEL_NAME);
    if (st == VG_OK) st = vg_st_writer_meta(w, "model_config", model_json);
    if (st == VG_OK) st = vg_st_writer_meta(w, "train_config", train_json);
    const struct { const char *key; int64_t v; } ints[] = {
        {"step", t->step}, {"adam_step_g", t->opt_g.step}, {"adam_step_d", t->opt_d.step},
        {"skipped", t->skipped}, {"threads", vg_get_threads()},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0] && st == VG_OK; i++) {
        if (ints[i].v < 0) {
            st = vg_fail(VG_ERR_INVALID, "%s: %s is negative (%lld)", path, ints[i].key, (long long)ints[i].v);
            break;
        }
        snprintf(num, sizeof num, "%lld", (long long)ints[i].v);
        st = vg_st_writer_meta(w, ints[i].key, num);
    }
    if (st == VG_OK) st = vg_st_writer_meta(w, "rng", rng_json);
    if (st == VG_OK) st = vg_st_writer_meta(w, "data", data_json ? data_json : "null");
    if (st == VG_OK) st = vg_st_writer_meta(w, "vidgan_version", VG_VERSION);
    if (st == VG_OK) st = vg_st_writer_meta(w, "created", when);
    if (st == VG_OK) st = vg_st_writer_save(w, path);
    vg_st_writer_free(w);
    plan_free(&p);
    return st;
}

vg_status vg_ckpt_load(vg_trainer *t, const char *path) {
    if (!t || !t->ctx || !t->model.G || !path) return vg_fail(VG_ERR_INVALID, "checkpoint load: no trainer or path");
    vg_st_file *f;
    ck_meta m;
    vg_status st = ckpt_open(path, &f, &m);
    if (st != VG_OK) return st;
    if ((st = config_compare(path, &m.cfg, &t->cfg)) != VG_OK) {
        vg_st_close(f);
        return st;
    }
    int with_ema = t->ema.params != NULL;
    ck_plan p;
    st = plan_model(&p, &t->model, with_ema, t->ema.shadow, 1, &t->opt_g, &t->opt_d);
    if (st == VG_OK) st = plan_check_file(&p, f, 1);
    if (st == VG_OK) st = plan_read(&p, f, NULL, NULL);
    if (st == VG_OK) {
        t->step = m.step;
        t->skipped = m.skipped;
        t->stream = m.stream;
        t->opt_g.step = m.adam_step_g;
        t->opt_d.step = m.adam_step_d;
    }
    plan_free(&p);
    vg_st_close(f);
    return st;
}

vg_status vg_ckpt_read_config(const char *path, vg_train_config *out, char **data_json, int64_t *step) {
    if (data_json) *data_json = NULL;
    vg_st_file *f;
    ck_meta m;
    vg_status st = ckpt_open(path, &f, &m);
    if (st != VG_OK) return st;
    if (data_json && !(*data_json = dup_str(m.data))) st = vg_fail(VG_ERR_NOMEM, "%s: out of memory", path);
    if (st == VG_OK) {
        if (out) *out = m.cfg;
        if (step) *step = m.step;
    }
    vg_st_close(f);
    return st;
}

vg_status vg_ckpt_load_generator(const char *path, vg_ckpt_weights which, vg_ctx *ctx, vg_dcgan3d *model,
                                 vg_train_config *cfg_out, int *used_ema) {
    memset(model, 0, sizeof *model);
    if ((int)which < 0 || which >= VG_CKPT_WEIGHTS_COUNT)
        return vg_fail(VG_ERR_INVALID, "%s: unknown choice of generator weights %d", path, (int)which);
    vg_st_file *f;
    ck_meta m;
    vg_status st = ckpt_open(path, &f, &m);
    if (st != VG_OK) return st;
    int has_ema = m.cfg.ema_decay > 0;
    int use_ema = which == VG_CKPT_WEIGHTS_EMA || (which == VG_CKPT_WEIGHTS_DEFAULT && has_ema);
    if (use_ema && !has_ema) {
        vg_st_close(f);
        return vg_fail(VG_ERR_INVALID, "%s: the checkpoint has no EMA generator (trained with ema_decay 0)", path);
    }
    st = vg_dcgan3d_init(model, ctx, &m.cfg.model, m.cfg.seed);
    if (st != VG_OK) {
        vg_st_close(f);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", vg_last_error());
        if (model->G || model->D) vg_dcgan3d_free(model);
        memset(model, 0, sizeof *model);
        return vg_fail(st, "%s: %s", path, msg);
    }
    /* check the whole file, then read G's values from G_ema when asked */
    ck_plan full, p;
    st = plan_model(&full, model, has_ema, NULL, 1, NULL, NULL);
    if (st == VG_OK) {
        st = plan_check_file(&full, f, 1);
        plan_free(&full);
    }
    if (st == VG_OK && (st = plan_model(&p, model, 0, NULL, 0, NULL, NULL)) == VG_OK) {
        st = plan_read(&p, f, use_ema ? "G_ema." : NULL, "G.");
        plan_free(&p);
    }
    vg_st_close(f);
    if (st != VG_OK) {
        vg_dcgan3d_free(model);
        memset(model, 0, sizeof *model);
        return st;
    }
    if (cfg_out) *cfg_out = m.cfg;
    if (used_ema) *used_ema = use_ema;
    return VG_OK;
}

vg_status vg_ckpt_validate(const char *path) {
    vg_st_file *f;
    ck_meta m;
    vg_status st = ckpt_open(path, &f, &m);
    if (st != VG_OK) return st;
    vg_ctx *ctx = NULL;
    vg_dcgan3d model = {0};
    char msg[512];
    /* the model's names and shapes, without its memory */
    if ((st = vg_ctx_new(&ctx, NULL)) == VG_OK && (st = vg_dcgan3d_declare(&model, ctx, &m.cfg.model)) != VG_OK) {
        snprintf(msg, sizeof msg, "%s", vg_last_error());
        st = vg_fail(st, "%s: %s", path, msg);
    }
    if (st == VG_OK) {
        ck_plan p;
        st = plan_model(&p, &model, m.cfg.ema_decay > 0, NULL, 1, NULL, NULL);
        if (st == VG_OK) st = plan_check_file(&p, f, 1);
        plan_free(&p);
    }
    if (model.G || model.D) vg_dcgan3d_free(&model);
    vg_ctx_free(ctx);
    vg_st_close(f);
    return st;
}

/* ---- run directories ---------------------------------------------------------- */

char *vg_ckpt_path(const char *dir, int64_t step) {
    size_t n = strlen(dir) + 64;
    char *p = malloc(n);
    if (!p) {
        vg_fail(VG_ERR_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(p, n, "%s/ckpt-%08lld.safetensors", dir, (long long)step);
    return p;
}

typedef struct ck_cand {
    int64_t step;
    char *name;
} ck_cand;

/* "ckpt-<at least 8 digits>.safetensors" exactly; its step. */
static int match_name(const char *name, int64_t *step) {
    static const char head[] = "ckpt-", tail[] = ".safetensors";
    size_t n = strlen(name), h = sizeof head - 1, t = sizeof tail - 1;
    if (n < h + 8 + t || strncmp(name, head, h) != 0 || strcmp(name + n - t, tail) != 0) return 0;
    char digits[32];
    size_t nd = n - h - t;
    if (nd >= sizeof digits) return 0;
    memcpy(digits, name + h, nd);
    digits[nd] = '\0';
    return parse_i64(digits, step);
}

static int cand_newer_first(const void *a, const void *b) {
    const ck_cand *x = a, *y = b;
    if (x->step != y->step) return x->step < y->step ? 1 : -1;
    return strcmp(y->name, x->name);
}

static void cands_free(ck_cand *c, int n) {
    for (int i = 0; i < n; i++) free(c[i].name);
    free(c);
}

/* The checkpoint files of dir, newest first. */
static vg_status list_cands(const char *dir, ck_cand **out, int *count) {
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return vg_fail(VG_ERR_IO, "%s: cannot open the checkpoint directory: %s", dir, strerror(errno));
    ck_cand *c = NULL;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int64_t step;
        if (!match_name(de->d_name, &step)) continue;
        if (n == cap) {
            int ncap = cap ? 2 * cap : 16;
            ck_cand *nc = realloc(c, (size_t)ncap * sizeof *nc);
            if (!nc) goto nomem;
            c = nc;
            cap = ncap;
        }
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        if (!(c[n].name = malloc(len))) goto nomem;
        snprintf(c[n].name, len, "%s/%s", dir, de->d_name);
        c[n].step = step;
        n++;
    }
    closedir(d);
    if (n > 1) qsort(c, (size_t)n, sizeof *c, cand_newer_first);
    *out = c;
    *count = n;
    return VG_OK;
nomem:
    closedir(d);
    cands_free(c, n);
    return vg_fail(VG_ERR_NOMEM, "%s: out of memory listing checkpoints", dir);
}

vg_status vg_ckpt_find_latest(const char *dir, char **path_out, int *skipped) {
    *path_out = NULL;
    if (skipped) *skipped = 0;
    ck_cand *c;
    int n;
    vg_status st = list_cands(dir, &c, &n);
    if (st != VG_OK) return st;
    for (int i = 0; i < n; i++) {
        if (vg_ckpt_validate(c[i].name) == VG_OK) {
            *path_out = c[i].name;
            c[i].name = NULL;
            break;
        }
        if (skipped) (*skipped)++;
    }
    cands_free(c, n);
    return VG_OK;
}

/* Temporary files "ckpt-*.safetensors.tmp.<pid>.<n>" left by a save that
 * was killed (SIGKILL, power loss) are never valid checkpoints; delete
 * those whose writer process is gone. A live writer's file is kept. */
static void remove_stale_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *tmp = strstr(de->d_name, ".safetensors.tmp.");
        long pid;
        char *end;
        if (strncmp(de->d_name, "ckpt-", 5) != 0 || !tmp) continue;
        pid = strtol(tmp + strlen(".safetensors.tmp."), &end, 10);
        if (pid <= 0 || *end != '.' || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < (int)sizeof path) unlink(path);
    }
    closedir(d);
}

vg_status vg_ckpt_prune(const char *dir, int keep, int *deleted) {
    if (deleted) *deleted = 0;
    if (keep < 1) return vg_fail(VG_ERR_INVALID, "%s: prune must keep at least 1 checkpoint (got %d)", dir, keep);
    ck_cand *c;
    int n;
    vg_status st = list_cands(dir, &c, &n);
    if (st != VG_OK) return st;
    remove_stale_temps(dir);
    int valid = 0, i = 0;
    for (; i < n && valid < keep; i++) valid += vg_ckpt_validate(c[i].name) == VG_OK;
    if (valid == keep)
        for (; i < n; i++) {
            if (unlink(c[i].name) == 0) {
                if (deleted) (*deleted)++;
            } else if (errno != ENOENT && st == VG_OK) {
                st = vg_fail(VG_ERR_IO, "%s: cannot delete: %s", c[i].name, strerror(errno));
            }
        }
    cands_free(c, n);
    return st;
}

/* ---- the data set description -------------------------------------------------- */

char *vg_ckpt_data_json(const vg_dataset_spec *s) {
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)s->seed);
    json_t *j = json_pack("{s:s?, s:i, s:i, s:i, s:s, s:s?, s:s?, s:i, s:s, s:i, s:b, s:s?}", "source", s->source,
                          "frames", s->frames, "size", s->size, "channels", s->channels, "seed", seed, "path", s->path,
                          "split", s->split, "num_digits", s->num_digits, "overlap",
                          s->overlap == VG_OVERLAP_SUM ? "sum" : "max", "stride", s->stride, "skip_bad", s->skip_bad != 0,
                          "npy_layout", s->npy_layout);
    /* sampling and augmentation, stored only when not the default: files of
     * default runs stay as earlier versions wrote them */
    if (j && s->crop != VG_CROP_CENTRE) json_object_set_new(j, "crop", json_string(vg_crop_name(s->crop)));
    if (j && s->hflip) json_object_set_new(j, "hflip", json_true());
    if (j && s->fps > 0) json_object_set_new(j, "fps", json_real(s->fps));
    if (j && s->labels != VG_LABELS_FOLDERS) json_object_set_new(j, "labels", json_string(vg_labels_name(s->labels)));
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) vg_fail(VG_ERR_NOMEM, "checkpoint: cannot describe the data set as JSON");
    return text;
}

vg_status vg_ckpt_data_parse(const char *text, vg_dataset_spec *spec, char **owned) {
    memset(spec, 0, sizeof *spec);
    *owned = NULL;
    json_error_t err;
    json_t *j = json_loads(text ? text : "", JSON_REJECT_DUPLICATES, &err);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return vg_fail(VG_ERR_FORMAT, "data description: not a JSON object (%s)", j ? "wrong type" : err.text);
    }
    const char *keys[4] = {"source", "path", "split", "npy_layout"};
    const char *vals[4] = {NULL, NULL, NULL, NULL};
    size_t total = 0;
    vg_status st = VG_OK;
    for (int i = 0; i < 4 && st == VG_OK; i++) {
        const json_t *v = json_object_get(j, keys[i]);
        if (v && json_is_string(v))
            vals[i] = json_string_value(v), total += strlen(vals[i]) + 1;
        else if (v && !json_is_null(v))
            st = vg_fail(VG_ERR_FORMAT, "data description: '%s' is not a string", keys[i]);
    }
    if (st == VG_OK && !vals[0]) st = vg_fail(VG_ERR_FORMAT, "data description: 'source' is missing");
    const char *ikeys[5] = {"frames", "size", "channels", "num_digits", "stride"};
    int *ivals[5] = {&spec->frames, &spec->size, &spec->channels, &spec->num_digits, &spec->stride};
    for (int i = 0; i < 5 && st == VG_OK; i++) {
        const json_t *v = json_object_get(j, ikeys[i]);
        if (v && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000))
            st = vg_fail(VG_ERR_FORMAT, "data description: '%s' is not a small non-negative integer", ikeys[i]);
        else if (v)
            *ivals[i] = (int)json_integer_value(v);
    }
    const json_t *seed = json_object_get(j, "seed");
    if (st == VG_OK && seed) {
        if (json_is_string(seed) && parse_u64(json_string_value(seed), &spec->seed)) {
        } else if (json_is_integer(seed) && json_integer_value(seed) >= 0) {
            spec->seed = (uint64_t)json_integer_value(seed);
        } else {
            st = vg_fail(VG_ERR_FORMAT, "data description: 'seed' is not a non-negative integer");
        }
    }
    const json_t *skip = json_object_get(j, "skip_bad");
    if (st == VG_OK && skip) {
        if (json_is_boolean(skip))
            spec->skip_bad = json_is_true(skip);
        else
            st = vg_fail(VG_ERR_FORMAT, "data description: 'skip_bad' is not true or false");
    }
    const json_t *hf = json_object_get(j, "hflip");
    if (st == VG_OK && hf) {
        if (json_is_boolean(hf))
            spec->hflip = json_is_true(hf);
        else
            st = vg_fail(VG_ERR_FORMAT, "data description: 'hflip' is not true or false");
    }
    const json_t *fps = json_object_get(j, "fps");
    if (st == VG_OK && fps) {
        if (json_is_number(fps) && json_number_value(fps) >= 0 && json_number_value(fps) <= 1000)
            spec->fps = json_number_value(fps);
        else
            st = vg_fail(VG_ERR_FORMAT, "data description: 'fps' is not a frame rate in [0, 1000]");
    }
    const json_t *crop = json_object_get(j, "crop"), *labels = json_object_get(j, "labels");
    if (st == VG_OK && crop && !vg_crop_parse(json_string_value(crop), &spec->crop))
        st = vg_fail(VG_ERR_FORMAT, "data description: 'crop' must be \"centre\" or \"random\"");
    if (st == VG_OK && labels && !vg_labels_parse(json_string_value(labels), &spec->labels))
        st = vg_fail(VG_ERR_FORMAT, "data description: 'labels' must be \"folders\" or \"none\"");
    const json_t *ov = json_object_get(j, "overlap");
    if (st == VG_OK && ov && !json_is_null(ov)) {
        const char *o = json_is_string(ov) ? json_string_value(ov) : "";
        if (strcmp(o, "max") == 0)
            spec->overlap = VG_OVERLAP_MAX;
        else if (strcmp(o, "sum") == 0)
            spec->overlap = VG_OVERLAP_SUM;
        else
            st = vg_fail(VG_ERR_FORMAT, "data description: 'overlap' must be \"max\" or \"sum\"");
    }
    char *block = NULL;
    if (st == VG_OK && !(block = malloc(total ? total : 1))) st = vg_fail(VG_ERR_NOMEM, "out of memory");
    if (st == VG_OK) {
        const char **dst[4] = {&spec->source, &spec->path, &spec->split, &spec->npy_layout};
        char *q = block;
        for (int i = 0; i < 4; i++)
            if (vals[i]) {
                size_t len = strlen(vals[i]) + 1;
                memcpy(q, vals[i], len);
                *dst[i] = q;
                q += len;
            }
        *owned = block;
    } else {
        memset(spec, 0, sizeof *spec);
    }
    json_decref(j);
    return st;
}
