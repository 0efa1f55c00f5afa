/* Checkpoints (src/train/checkpoint.h):
 *  (a) resume exactness: N+M iterations straight vs N, save, new trainer,
 *      load, M more -> weights, buffers, EMA, moments and steps bit-identical;
 *  (b) round trip of every field, metadata, read_config, load_generator and
 *      the data-set description;
 *  (c) the file loads into tools/ref_dcgan3d.py's PyTorch modules (only where
 *      /usr/bin/python3 has torch; otherwise a note, not counted);
 *  (d) corrupt, truncated and foreign files: a clean error naming the file,
 *      and the trainer untouched;
 *  (e) a non-finite weight is never saved and the previous file survives;
 *  (f) a save loop SIGKILLed at several times never leaves a half-written
 *      checkpoint under a final name, and find_latest picks a valid one;
 *  (g) prune keeps the newest K and nothing else it should not touch.
 * The killed saver is this binary re-executed with --save-loop DIR, so the
 * child starts clean (no OpenMP state inherited through fork). */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "io/safetensors.h"
#include "ops/ctx.h"
#include "train/checkpoint.h"

static char tmpdir[64];

static void small_config(vg_train_config *c) {
    vg_train_config_default(c);
    c->model = (vg_dcgan3d_config){.size = 16, .frames = 4, .channels = 3, .z_dim = 16, .g_base = 8, .d_base = 8};
    c->batch = 4;
    c->seed = 12345678901234567ull; /* above 2^53: must survive as a decimal string */
    c->lr_g = 2e-4;
    c->lr_d = 1e-4;
    c->ema_decay = 0.9;
}

/* The killed saver's model: big enough that a save takes a while (~5 MB). */
static void big_config(vg_train_config *c) {
    vg_train_config_default(c);
    c->model = (vg_dcgan3d_config){.size = 32, .frames = 8, .channels = 3, .z_dim = 64, .g_base = 16, .d_base = 16};
    c->batch = 1;
}

static const vg_dataset_spec data_spec = {.source = "shapes", .frames = 4, .size = 16, .channels = 3, .seed = 99};

static char *path_in(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)(len > 0 ? len : 1));
    *n = fread(buf, 1, (size_t)len, f);
    fclose(f);
    return buf;
}

static void write_all(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    if (n) fwrite(buf, 1, n, f);
    fclose(f);
}

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char *p = path_in(dir, de->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

/* ---- trainer state snapshots ------------------------------------------------ */

typedef struct snap {
    float *arr[7];
    int64_t n[7];
    int64_t step, skipped, adam_g, adam_d;
} snap;

static float *download(const vg_trainer *t, const vg_real *src, int64_t n) {
    float *h = malloc((size_t)(n > 0 ? n : 1) * sizeof *h);
    if (src && n) vg_ctx_backend(t->ctx)->download(h, src, (size_t)n * sizeof *h);
    return h;
}

static snap take(vg_trainer *t) {
    snap s = {0};
    const vg_real *src[7] = {vg_params_data(t->model.G), vg_params_data(t->model.D), t->ema.shadow,
                             t->opt_g.m, t->opt_g.v, t->opt_d.m, t->opt_d.v};
    int64_t n[7] = {vg_params_numel_all(t->model.G), vg_params_numel_all(t->model.D),
                    t->ema.shadow ? t->ema.n_all : 0, t->opt_g.n, t->opt_g.n, t->opt_d.n, t->opt_d.n};
    for (int i = 0; i < 7; i++) {
        s.arr[i] = download(t, src[i], n[i]);
        s.n[i] = n[i];
    }
    s.step = t->step;
    s.skipped = t->skipped;
    s.adam_g = t->opt_g.step;
    s.adam_d = t->opt_d.step;
    return s;
}

static void snap_free(snap *s) {
    for (int i = 0; i < 7; i++) free(s->arr[i]);
}

static int snap_equal(const snap *a, const snap *b, const char *what) {
    static const char *names[7] = {"G", "D", "G_ema", "G exp_avg", "G exp_avg_sq", "D exp_avg", "D exp_avg_sq"};
    int ok = 1;
    for (int i = 0; i < 7; i++) {
        int same = a->n[i] == b->n[i] && memcmp(a->arr[i], b->arr[i], (size_t)a->n[i] * sizeof(float)) == 0;
        if (!same && ok) fprintf(stderr, "%s: %s differs\n", what, names[i]);
        ok &= same;
    }
    if (a->step != b->step || a->skipped != b->skipped || a->adam_g != b->adam_g || a->adam_d != b->adam_d) {
        fprintf(stderr, "%s: counters differ: step %lld/%lld skipped %lld/%lld adam %lld,%lld/%lld,%lld\n", what,
                (long long)a->step, (long long)b->step, (long long)a->skipped, (long long)b->skipped,
                (long long)a->adam_g, (long long)b->adam_g, (long long)a->adam_d, (long long)b->adam_d);
        ok = 0;
    }
    return ok;
}

static int train(vg_trainer *t, int steps) {
    for (int i = 0; i < steps; i++)
        if (vg_trainer_step(t, NULL) != VG_OK) {
            fprintf(stderr, "step: %s\n", vg_last_error());
            return 0;
        }
    return 1;
}

static int configs_equal(const vg_train_config *a, const vg_train_config *b) {
    return a->model.size == b->model.size && a->model.frames == b->model.frames &&
           a->model.channels == b->model.channels && a->model.z_dim == b->model.z_dim &&
           a->model.g_base == b->model.g_base && a->model.d_base == b->model.d_base &&
           a->model.spectral_norm == b->model.spectral_norm && a->model.g_arch == b->model.g_arch &&
           a->model.image_d == b->model.image_d && a->model.two_stream == b->model.two_stream &&
           a->model.motion_dim == b->model.motion_dim && a->model.sprite == b->model.sprite && a->model.motion_still == b->model.motion_still && a->loss == b->loss && a->batch == b->batch &&
           a->d_steps == b->d_steps && a->lr_g == b->lr_g && a->lr_d == b->lr_d && a->beta1 == b->beta1 &&
           a->beta2 == b->beta2 && a->eps == b->eps && a->ema_decay == b->ema_decay && a->seed == b->seed &&
           a->label_smooth == b->label_smooth && a->instance_noise == b->instance_noise && a->mask_l1 == b->mask_l1 && a->path_l1 == b->path_l1 &&
           a->noise_steps == b->noise_steps;
}

/* ---- (a), (b), (c) ------------------------------------------------------------ */

/* noise: instance noise that reaches 0 within the resumed part */
static void test_resume_and_round_trip(const vg_dataset *ds, const char *ckpt, vg_g_arch g_arch, int image_d, int noise,
                                       int two_stream, int motion_dim, int sprite) {
    const int N = 3, M = 3;
    vg_train_config c;
    small_config(&c);
    c.model.g_arch = g_arch;
    c.model.image_d = image_d;
    c.model.two_stream = two_stream;
    c.model.motion_dim = motion_dim;
    c.model.sprite = sprite;
    c.model.motion_still = sprite; /* and a motion from h_0 alone */
    c.path_l1 = sprite ? 0.75 : 0; /* the path penalty rides along with the sprite */
    c.mask_l1 = two_stream ? 0.25 : 0; /* VGAN's mask penalty rides along with the two-stream generator */
    c.instance_noise = noise ? 0.25 : 0;
    c.noise_steps = noise ? N + 1 : 0;
    c.d_steps = 2;
    c.loss = VG_LOSS_HINGE;
    char *data_json = vg_ckpt_data_json(&data_spec);
    CHECK(data_json != NULL, "data json: %s", vg_last_error());

    vg_trainer a, b, r;
    CHECK(vg_trainer_init(&a, &c, ds) == VG_OK, "init: %s", vg_last_error());
    CHECK(train(&a, N + M), "straight run");
    snap want = take(&a);
    vg_trainer_free(&a);

    CHECK(vg_trainer_init(&b, &c, ds) == VG_OK, "init: %s", vg_last_error());
    CHECK(train(&b, N), "first part");
    b.skipped = 2; /* a counter that must round-trip too */
    vg_status st = vg_ckpt_save(&b, data_json, ckpt);
    CHECK(st == VG_OK, "save: %s", vg_last_error());
    snap saved = take(&b);
    b.skipped = 0;

    /* (b) every field round-trips */
    CHECK(vg_trainer_init(&r, &c, ds) == VG_OK, "init: %s", vg_last_error());
    st = vg_ckpt_load(&r, ckpt);
    CHECK(st == VG_OK, "load: %s", vg_last_error());
    snap loaded = take(&r);
    CHECK(snap_equal(&loaded, &saved, "round trip"), "state after load equals state at save");
    CHECK(saved.adam_g == N && saved.adam_d == (int64_t)N * c.d_steps, "adam steps %lld %lld", (long long)saved.adam_g,
          (long long)saved.adam_d);
    snap_free(&loaded);

    /* (a) resume: M more iterations, bit-identical to the straight run */
    r.skipped = 0;
    CHECK(train(&r, M), "second part");
    snap got = take(&r);
    CHECK(snap_equal(&got, &want, "resume"), "N + save/load + M == N + M, bit for bit");
    snap_free(&got);
    vg_trainer_free(&r);
    if (sprite) { /* the same model without the sprite has other tensors: refused by name */
        vg_train_config plain = c;
        plain.model.sprite = 0;
        plain.path_l1 = 0;
        CHECK(vg_trainer_init(&r, &plain, ds) == VG_OK, "init: %s", vg_last_error());
        st = vg_ckpt_load(&r, ckpt);
        CHECK(st != VG_OK && strstr(vg_last_error(), "model_config.sprite differs: the checkpoint has 1, the trainer 0"),
              "a sprite checkpoint into a trainer without: %s", vg_last_error());
        vg_trainer_free(&r);
    }

    /* metadata and read_config */
    vg_st_file *f;
    if (vg_st_open(&f, ckpt) == VG_OK) {
        const char *expect[][2] = {{"format", "vidgan-checkpoint"}, {"format_version", "1"}, {"model", "dcgan3d"},
                                   {"step", "3"}, {"adam_step_g", "3"}, {"adam_step_d", "6"}, {"skipped", "2"},
                                   {"vidgan_version", VG_VERSION}};
        for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
            const char *v = vg_st_meta(f, expect[i][0]);
            CHECK(v && strcmp(v, expect[i][1]) == 0, "metadata %s = %s, want %s", expect[i][0], v ? v : "(missing)",
                  expect[i][1]);
        }
        const char *created = vg_st_meta(f, "created");
        CHECK(created && strlen(created) == 20 && created[10] == 'T' && created[19] == 'Z', "created %s",
              created ? created : "(missing)");
        json_t *rng = json_loads(vg_st_meta(f, "rng") ? vg_st_meta(f, "rng") : "", 0, NULL);
        CHECK(rng && !strcmp(json_string_value(json_object_get(rng, "generator")), "philox4x32-10") &&
                  !strcmp(json_string_value(json_object_get(rng, "seed")), "12345678901234567") &&
                  !strcmp(json_string_value(json_object_get(rng, "step")), "3"),
              "rng metadata %s", vg_st_meta(f, "rng"));
        json_decref(rng);
        CHECK(vg_st_find(f, "G.net.0.weight") >= 0 && vg_st_find(f, "D.net.3.running_mean") >= 0 &&
                  vg_st_find(f, "G_ema.net.1.running_var") >= 0 && vg_st_find(f, "optim.G.exp_avg.net.0.weight") >= 0 &&
                  vg_st_find(f, "optim.D.exp_avg_sq.net.3.weight") >= 0 &&
                  vg_st_find(f, "optim.D.exp_avg.net.3.running_mean") < 0,
              "tensor names");
        vg_st_close(f);
    } else {
        CHECK(0, "reopen: %s", vg_last_error());
    }
    vg_train_config rc;
    char *dj = NULL;
    int64_t step = -1;
    CHECK(vg_ckpt_read_config(ckpt, &rc, &dj, &step) == VG_OK, "read_config: %s", vg_last_error());
    CHECK(configs_equal(&rc, &c), "read_config gives back the training configuration");
    CHECK(step == N, "read_config step %lld", (long long)step);
    CHECK(dj && data_json && strcmp(dj, data_json) == 0, "data json round trip: %s", dj ? dj : "(null)");
    vg_dataset_spec spec;
    char *owned = NULL;
    CHECK(dj && vg_ckpt_data_parse(dj, &spec, &owned) == VG_OK, "data parse: %s", vg_last_error());
    CHECK(owned && !strcmp(spec.source, "shapes") && spec.frames == 4 && spec.size == 16 && spec.channels == 3 &&
              spec.seed == 99 && spec.path == NULL && spec.split == NULL,
          "data spec round trip");
    free(owned);
    free(dj);

    /* load_generator: EMA by default, live weights on request; D always */
    vg_ctx *ctx;
    CHECK(vg_ctx_new(&ctx, NULL) == VG_OK, "ctx");
    for (int which = 0; which < 3; which++) {
        vg_dcgan3d m;
        int used = -1;
        vg_train_config gc;
        st = vg_ckpt_load_generator(ckpt, (vg_ckpt_weights)which, ctx, &m, &gc, &used);
        CHECK(st == VG_OK, "load_generator %d: %s", which, vg_last_error());
        if (st != VG_OK) continue;
        int want_ema = which != VG_CKPT_WEIGHTS_LIVE;
        CHECK(used == want_ema, "load_generator %d used_ema %d", which, used);
        const float *g = want_ema ? saved.arr[2] : saved.arr[0];
        CHECK(vg_params_numel_all(m.G) == saved.n[0] &&
                  memcmp(vg_params_data(m.G), g, (size_t)saved.n[0] * sizeof(float)) == 0,
              "load_generator %d: G holds the %s weights", which, want_ema ? "EMA" : "live");
        CHECK(memcmp(vg_params_data(m.D), saved.arr[1], (size_t)saved.n[1] * sizeof(float)) == 0,
              "load_generator %d: D", which);
        CHECK(configs_equal(&gc, &c), "load_generator config");
        vg_dcgan3d_free(&m);
    }

    /* a trainer without EMA: no G_ema tensors; asking for EMA is an error */
    char *noema = path_in(tmpdir, "noema.safetensors");
    vg_train_config c0 = c;
    c0.ema_decay = 0;
    vg_trainer z;
    CHECK(vg_trainer_init(&z, &c0, ds) == VG_OK, "init");
    CHECK(vg_ckpt_save(&z, NULL, noema) == VG_OK, "save without EMA: %s", vg_last_error());
    vg_dcgan3d m;
    int used = -1;
    CHECK(vg_ckpt_load_generator(noema, VG_CKPT_WEIGHTS_DEFAULT, ctx, &m, NULL, &used) == VG_OK && used == 0,
          "default without EMA: %s", vg_last_error());
    if (m.G) vg_dcgan3d_free(&m);
    st = vg_ckpt_load_generator(noema, VG_CKPT_WEIGHTS_EMA, ctx, &m, NULL, NULL);
    CHECK(st != VG_OK && strstr(vg_last_error(), "EMA") && m.G == NULL, "EMA requested but absent: %s", vg_last_error());
    CHECK(vg_ckpt_read_config(noema, NULL, &dj, NULL) == VG_OK && dj && !strcmp(dj, "null"), "data null");
    free(dj);
    vg_trainer_free(&z);
    free(noema);
    vg_ctx_free(ctx);

    /* (c) PyTorch */
    if (system("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") == 0) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 tools/load_checkpoint.py '%s' >/dev/null", ckpt);
        int rc2 = system(cmd);
        CHECK(rc2 == 0, "tools/load_checkpoint.py %s failed (exit %d)", ckpt, rc2);
    } else {
        printf("note: /usr/bin/python3 has no torch: the PyTorch loading check is not run\n");
    }

    vg_trainer_free(&b);
    snap_free(&want);
    snap_free(&saved);
    free(data_json);
}

/* ---- (d) broken files ------------------------------------------------------------ */

typedef struct replacement {
    const char *drop;      /* tensor to leave out (NULL: none) */
    const char *add_name;  /* tensor to add (NULL: none) */
    vg_st_dtype dtype;
    int ndim;
    int64_t shape[5];
    const void *data;
    size_t nbytes;
    const char *meta_key;  /* metadata to change (NULL: none) */
    const char *meta_val;  /* its new value; NULL drops the key */
} replacement;

/* A copy of f with one change, written with the safetensors writer. */
static vg_status rewrite(const vg_st_file *f, const char *dst, const replacement *r) {
    vg_st_writer *w;
    vg_status st = vg_st_writer_new(&w);
    for (int i = 0; i < vg_st_count(f) && st == VG_OK; i++) {
        if (r->drop && !strcmp(vg_st_name(f, i), r->drop)) continue;
        st = vg_st_writer_add(w, vg_st_name(f, i), vg_st_dtype_of(f, i), vg_st_ndim(f, i), vg_st_shape(f, i),
                              vg_st_data(f, i), vg_st_nbytes(f, i));
    }
    if (st == VG_OK && r->add_name) st = vg_st_writer_add(w, r->add_name, r->dtype, r->ndim, r->shape, r->data, r->nbytes);
    for (int i = 0; i < vg_st_meta_count(f) && st == VG_OK; i++) {
        const char *k = vg_st_meta_key(f, i);
        if (r->meta_key && !strcmp(k, r->meta_key)) continue;
        st = vg_st_writer_meta(w, k, vg_st_meta_value(f, i));
    }
    if (st == VG_OK && r->meta_key && r->meta_val) st = vg_st_writer_meta(w, r->meta_key, r->meta_val);
    if (st == VG_OK) st = vg_st_writer_save(w, dst);
    vg_st_writer_free(w);
    return st;
}

/* Load must fail with a message naming the file and containing `needle`,
 * and leave the trainer as it was; validate agrees unless the file is a
 * sound checkpoint of another configuration. */
static void expect_bad(vg_trainer *t, const snap *before, const char *path, const char *needle, const char *what) {
    vg_status st = vg_ckpt_load(t, path);
    const char *msg = vg_last_error();
    CHECK(st != VG_OK, "%s: load accepted a broken file", what);
    CHECK(strstr(msg, path) != NULL, "%s: message does not name the file: %s", what, msg);
    CHECK(!needle || strstr(msg, needle) != NULL, "%s: message lacks \"%s\": %s", what, needle, msg);
    if (getenv("VERBOSE")) printf("%-28s %s: %s\n", what, vg_status_name(st), msg);
    snap after = take(t);
    CHECK(snap_equal(&after, before, what), "%s: trainer changed by a failed load", what);
    snap_free(&after);
    /* a file that only differs from the trainer's configuration is itself valid */
    if (!needle || !strstr(needle, " differs"))
        CHECK(vg_ckpt_validate(path) != VG_OK, "%s: validate accepted it", what);
    else
        CHECK(vg_ckpt_validate(path) == VG_OK, "%s: validate refused a valid file: %s", what, vg_last_error());
}

/* Saves a freshly initialised trainer of configuration c as path. */
static void save_fresh(const vg_train_config *c, const vg_dataset *ds, const char *path) {
    vg_trainer t;
    CHECK(vg_trainer_init(&t, c, ds) == VG_OK, "init: %s", vg_last_error());
    CHECK(vg_ckpt_save(&t, NULL, path) == VG_OK, "save: %s", vg_last_error());
    vg_trainer_free(&t);
}

static void test_broken_files(const vg_dataset *ds, const char *good) {
    vg_train_config c;
    small_config(&c);
    c.d_steps = 2;
    c.loss = VG_LOSS_HINGE;
    vg_trainer t;
    if (vg_trainer_init(&t, &c, ds) != VG_OK) {
        CHECK(0, "init: %s", vg_last_error());
        return;
    }
    snap before = take(&t);
    char *bad = path_in(tmpdir, "bad.safetensors");
    size_t n;
    char *bytes = read_all(good, &n);
    CHECK(bytes && n > 1000, "read %s", good);
    if (!bytes) return;
    uint64_t hlen;
    memcpy(&hlen, bytes, 8);
    size_t cuts[] = {0, 4, 8, 9, 100, (size_t)hlen + 7, (size_t)hlen + 8, (size_t)hlen + 100, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        if (cuts[i] >= n) continue;
        write_all(bad, bytes, cuts[i]);
        char what[64];
        snprintf(what, sizeof what, "truncated at %zu of %zu", cuts[i], n);
        expect_bad(&t, &before, bad, NULL, what);
    }
    /* random bytes, and random bytes behind a plausible header length */
    srand(7);
    char *noise = malloc(4096);
    for (int i = 0; i < 4096; i++) noise[i] = (char)(rand() & 0xff);
    write_all(bad, noise, 4096);
    expect_bad(&t, &before, bad, NULL, "random bytes");
    uint64_t small = 200;
    memcpy(noise, &small, 8);
    write_all(bad, noise, 4096);
    expect_bad(&t, &before, bad, NULL, "random header");
    free(noise);
    /* a corrupted byte in the header's JSON */
    char *flip = malloc(n);
    memcpy(flip, bytes, n);
    flip[8] = 'x';
    write_all(bad, flip, n);
    expect_bad(&t, &before, bad, NULL, "header JSON corrupt");
    free(flip);

    /* a valid safetensors file that is not a checkpoint */
    vg_st_writer *w;
    float x[4] = {1, 2, 3, 4};
    vg_st_writer_new(&w);
    vg_st_writer_add_f32(w, "weight", 1, (int64_t[]){4}, x);
    CHECK(vg_st_writer_save(w, bad) == VG_OK, "plain safetensors: %s", vg_last_error());
    vg_st_writer_free(w);
    expect_bad(&t, &before, bad, "not a vidgan checkpoint (no format metadata)", "foreign safetensors");

    vg_st_file *f;
    if (vg_st_open(&f, good) != VG_OK) {
        CHECK(0, "%s", vg_last_error());
        free(bytes);
        free(bad);
        vg_trainer_free(&t);
        snap_free(&before);
        return;
    }
    int wi = vg_st_find(f, "D.net.0.weight");
    int64_t wn = vg_st_numel(f, wi);
    float *poison = malloc((size_t)wn * sizeof *poison);
    memcpy(poison, vg_st_data(f, wi), (size_t)wn * sizeof *poison);
    poison[5] = NAN;
    const int64_t *ws = vg_st_shape(f, wi);
    static const float zeros[8 * 3 * 4 * 4 * 4];
    struct {
        replacement r;
        const char *needle, *what;
    } cases[] = {
        {{.meta_key = "format", .meta_val = "something-else"}, "not a vidgan checkpoint", "other format"},
        {{.meta_key = "format"}, "no format metadata", "format missing"},
        {{.meta_key = "format_version", .meta_val = "2"}, "unsupported checkpoint format_version \"2\"", "version 2"},
        {{.meta_key = "model", .meta_val = "mocogan"}, "model \"mocogan\"", "other model"},
        {{.meta_key = "step", .meta_val = "12x"}, "'step' is \"12x\"", "step 12x"},
        {{.meta_key = "step", .meta_val = "-3"}, "'step'", "step negative"},
        {{.meta_key = "step", .meta_val = "99999999999999999999999"}, "'step'", "step overflow"},
        {{.meta_key = "step"}, "'step' is missing", "step missing"},
        {{.meta_key = "adam_step_d", .meta_val = ""}, "'adam_step_d'", "adam step empty"},
        {{.meta_key = "model_config", .meta_val = "{\"size\": 16,"}, "'model_config' is not valid JSON", "model json"},
        {{.meta_key = "model_config", .meta_val = "[]"}, "'model_config' is not a JSON object", "model json array"},
        {{.meta_key = "model_config",
          .meta_val = "{\"size\":16,\"frames\":4,\"channels\":3,\"z_dim\":16,\"g_base\":16,\"d_base\":8,\"spectral_norm\":0}"},
         "model_config.g_base", "model config differs"},
        {{.meta_key = "model_config", .meta_val = "{\"size\":16}"}, "model_config.frames is missing", "model config short"},
        {{.meta_key = "model_config",
          .meta_val = "{\"size\":16,\"frames\":4,\"channels\":3,\"z_dim\":16,\"g_base\":8,\"d_base\":8,\"spectral_norm\":0,"
                      "\"g_arch\":\"pixelshuffle\"}"},
         "model_config.g_arch is not a known generator architecture", "model g_arch unknown"},
        {{.meta_key = "model_config",
          .meta_val = "{\"size\":16,\"frames\":4,\"channels\":3,\"z_dim\":16,\"g_base\":8,\"d_base\":8,\"spectral_norm\":0,"
                      "\"image_d\":2}"},
         "model_config.image_d must be 0 or 1", "model image_d 2"},
        {{.meta_key = "model_config",
          .meta_val = "{\"size\":16,\"frames\":4,\"channels\":3,\"z_dim\":16,\"g_base\":8,\"d_base\":8,\"spectral_norm\":0,"
                      "\"two_stream\":-1}"},
         "model_config.two_stream must be 0 or 1", "model two_stream -1"},
        {{.meta_key = "model_config",
          .meta_val = "{\"size\":16,\"frames\":4,\"channels\":3,\"z_dim\":16,\"g_base\":8,\"d_base\":8,\"spectral_norm\":0,"
                      "\"motion_dim\":-4}"},
         "model_config.motion_dim must be in [0, 1024], got -4", "model motion_dim -4"},
        {{.meta_key = "model_config",
          .meta_val = "{\"size\":16,\"frames\":4,\"channels\":3,\"z_dim\":16,\"g_base\":8,\"d_base\":8,\"spectral_norm\":0,"
                      "\"motion_dim\":\"ten\"}"},
         "model_config.motion_dim", "model motion_dim not a number"},
        {{.meta_key = "model_config",
          .meta_val = "{\"size\":16,\"frames\":4,\"channels\":3,\"z_dim\":16,\"g_base\":8,\"d_base\":8,\"spectral_norm\":0,"
                      "\"sprite\":3}"},
         "model_config.sprite must be 0 or 1", "model sprite 3"},
        {{.meta_key = "model_config",
          .meta_val = "{\"size\":16,\"frames\":4,\"channels\":3,\"z_dim\":16,\"g_base\":8,\"d_base\":8,\"spectral_norm\":0,"
                      "\"motion_still\":true}"},
         "model_config.motion_still", "model motion_still not a number"},

        {{.meta_key = "train_config", .meta_val = "{\"loss\":\"hinge\"}"}, "train_config.batch", "train config short"},
        {{.meta_key = "train_config",
          .meta_val = "{\"loss\":\"hinge\",\"batch\":4,\"d_steps\":2,\"lr_g\":0.0002,\"lr_d\":0.0003,\"beta1\":0.5,"
                      "\"beta2\":0.999,\"eps\":1e-08,\"ema_decay\":0.9,\"seed\":\"12345678901234567\"}"},
         "train_config.lr_d differs", "train config differs"},
        {{.meta_key = "train_config",
          .meta_val = "{\"loss\":\"hinge\",\"batch\":4,\"d_steps\":2,\"lr_g\":0.0002,\"lr_d\":0.0001,\"beta1\":0.5,"
                      "\"beta2\":0.999,\"eps\":1e-08,\"ema_decay\":0.9,\"seed\":12}"},
         "train_config.seed", "seed not a string"},
        {{.meta_key = "train_config",
          .meta_val = "{\"loss\":\"hinge\",\"batch\":4,\"d_steps\":2,\"lr_g\":0.0002,\"lr_d\":0.0001,\"beta1\":0.5,"
                      "\"beta2\":0.999,\"eps\":1e-08,\"ema_decay\":0.9,\"seed\":\"12345678901234567\",\"instance_noise\":0.1}"},
         "train_config.noise_steps is missing", "instance noise without its steps"},
        {{.meta_key = "train_config",
          .meta_val = "{\"loss\":\"hinge\",\"batch\":4,\"d_steps\":2,\"lr_g\":0.0002,\"lr_d\":0.0001,\"beta1\":0.5,"
                      "\"beta2\":0.999,\"eps\":1e-08,\"ema_decay\":0.9,\"seed\":\"12345678901234567\",\"instance_noise\":0.1,"
                      "\"noise_steps\":2.5}"},
         "train_config.noise_steps is not a step count", "fractional noise steps"},
        {{.meta_key = "train_config",
          .meta_val = "{\"loss\":\"hinge\",\"batch\":4,\"d_steps\":2,\"lr_g\":0.0002,\"lr_d\":0.0001,\"beta1\":0.5,"
                      "\"beta2\":0.999,\"eps\":1e-08,\"ema_decay\":0.9,\"seed\":\"12345678901234567\",\"instance_noise\":0.1,"
                      "\"noise_steps\":5}"},
         "train_config.instance_noise differs", "instance noise in the file only"},
        {{.meta_key = "train_config",
          .meta_val = "{\"loss\":\"hinge\",\"batch\":4,\"d_steps\":2,\"lr_g\":0.0002,\"lr_d\":0.0001,\"beta1\":0.5,"
                      "\"beta2\":0.999,\"eps\":1e-08,\"ema_decay\":0.9,\"seed\":\"12345678901234567\",\"mask_l1\":-0.5}"},
         "train_config.mask_l1 must be >= 0, got -0.5", "negative mask penalty"},
        {{.meta_key = "train_config",
          .meta_val = "{\"loss\":\"hinge\",\"batch\":4,\"d_steps\":2,\"lr_g\":0.0002,\"lr_d\":0.0001,\"beta1\":0.5,"
                      "\"beta2\":0.999,\"eps\":1e-08,\"ema_decay\":0.9,\"seed\":\"12345678901234567\",\"mask_l1\":0.1}"},
         "train_config.mask_l1 differs", "mask penalty in the file only"},
        {{.meta_key = "train_config",
          .meta_val = "{\"loss\":\"hinge\",\"batch\":4,\"d_steps\":2,\"lr_g\":0.0002,\"lr_d\":0.0001,\"beta1\":0.5,"
                      "\"beta2\":0.999,\"eps\":1e-08,\"ema_decay\":0.9,\"seed\":\"12345678901234567\",\"path_l1\":-2}"},
         "train_config.path_l1 must be >= 0, got -2", "negative path penalty"},
        {{.meta_key = "train_config",
          .meta_val = "{\"loss\":\"hinge\",\"batch\":4,\"d_steps\":2,\"lr_g\":0.0002,\"lr_d\":0.0001,\"beta1\":0.5,"
                      "\"beta2\":0.999,\"eps\":1e-08,\"ema_decay\":0.9,\"seed\":\"12345678901234567\",\"path_l1\":0.5}"},
         "train_config.path_l1 differs", "path penalty in the file only"},
        {{.meta_key = "rng", .meta_val = "{\"generator\":\"mt19937\",\"seed\":\"1\",\"step\":\"3\"}"}, "rng.generator",
         "rng generator"},
        {{.meta_key = "rng", .meta_val = "{\"generator\":\"philox4x32-10\",\"seed\":\"12345678901234567\",\"step\":\"4\",\"stream\":\"0\"}"},
         "disagrees", "rng step"},
        {{.meta_key = "data", .meta_val = "{source"}, "'data' is not valid JSON", "data json"},
        {{.drop = "G.net.0.weight"}, "tensor 'G.net.0.weight' is missing", "missing tensor"},
        {{.drop = "optim.D.exp_avg_sq.net.3.weight"}, "'optim.D.exp_avg_sq.net.3.weight' is missing", "missing moment"},
        {{.drop = "G_ema.net.4.running_mean"}, "'G_ema.net.4.running_mean' is missing", "missing EMA buffer"},
        {{.drop = "D.net.0.weight", .add_name = "D.net.0.weight", .dtype = VG_ST_F32, .ndim = 5, .shape = {8, 3, 3, 4, 4},
          .data = zeros, .nbytes = 8 * 3 * 3 * 4 * 4 * sizeof(float)},
         "tensor 'D.net.0.weight' has shape [8, 3, 3, 4, 4], the model needs [8, 3, 4, 4, 4]", "wrong shape"},
        {{.drop = "D.net.0.weight", .add_name = "D.net.0.weight", .dtype = VG_ST_F32, .ndim = 1, .shape = {wn},
          .data = zeros, .nbytes = (size_t)wn * sizeof(float)},
         "has shape", "flattened"},
        {{.drop = "D.net.0.weight", .add_name = "D.net.0.weight", .dtype = VG_ST_I32, .ndim = 5,
          .shape = {ws[0], ws[1], ws[2], ws[3], ws[4]}, .data = zeros, .nbytes = (size_t)wn * 4},
         "is I32, a checkpoint stores F32", "wrong dtype"},
        {{.drop = "D.net.0.weight", .add_name = "D.net.0.weight", .dtype = VG_ST_F32, .ndim = 5,
          .shape = {ws[0], ws[1], ws[2], ws[3], ws[4]}, .data = poison, .nbytes = (size_t)wn * 4},
         "'D.net.0.weight' holds a non-finite value", "NaN in the file"},
        {{.add_name = "G.net.9.weight", .dtype = VG_ST_F32, .ndim = 1, .shape = {4}, .data = zeros, .nbytes = 16},
         "'G.net.9.weight' does not belong to this model", "extra tensor"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vg_status st = rewrite(f, bad, &cases[i].r);
        CHECK(st == VG_OK, "%s: rewrite: %s", cases[i].what, vg_last_error());
        if (st == VG_OK) expect_bad(&t, &before, bad, cases[i].needle, cases[i].what);
    }
    /* the unchanged copy still loads: the rewrite itself is faithful */
    replacement none = {0};
    CHECK(rewrite(f, bad, &none) == VG_OK && vg_ckpt_load(&t, bad) == VG_OK, "faithful copy loads: %s", vg_last_error());
    free(poison);
    vg_st_close(f);
    snap cur = take(&t);

    /* a checkpoint of a different model or recipe loads into its own trainer only */
    vg_train_config c2 = c;
    c2.model.d_base = 16;
    save_fresh(&c2, ds, bad);
    expect_bad(&t, &cur, bad, "model_config.d_base differs: the checkpoint has 16, the trainer 8", "other model config");
    c2 = c;
    c2.model.g_arch = VG_G_RESIZE;
    save_fresh(&c2, ds, bad);
    expect_bad(&t, &cur, bad, "model_config.g_arch differs: the checkpoint has resize, the trainer deconv", "other generator");
    c2 = c;
    c2.model.image_d = 1;
    save_fresh(&c2, ds, bad);
    expect_bad(&t, &cur, bad, "model_config.image_d differs: the checkpoint has 1, the trainer 0", "image discriminator");
    c2 = c;
    c2.model.two_stream = 1;
    save_fresh(&c2, ds, bad);
    expect_bad(&t, &cur, bad, "model_config.two_stream differs: the checkpoint has 1, the trainer 0", "two-stream generator");
    c2 = c;
    c2.model.motion_dim = 5;
    save_fresh(&c2, ds, bad);
    expect_bad(&t, &cur, bad, "model_config.motion_dim differs: the checkpoint has 5, the trainer 0", "motion GRU");
    c2 = c;
    c2.ema_decay = 0.99;
    save_fresh(&c2, ds, bad);
    expect_bad(&t, &cur, bad, "train_config.ema_decay differs", "other EMA decay");
    c2 = c;
    c2.instance_noise = 0.1;
    c2.noise_steps = 100;
    save_fresh(&c2, ds, bad);
    expect_bad(&t, &cur, bad, "train_config.instance_noise differs: the checkpoint has 0.1, the trainer 0", "instance noise");
    c2 = c;
    c2.loss = VG_LOSS_NONSAT;
    c2.label_smooth = 0.2;
    save_fresh(&c2, ds, bad);
    expect_bad(&t, &cur, bad, "train_config.loss differs", "label smoothing (and nonsat)");
    expect_bad(&t, &cur, "/nonexistent/dir/ckpt.safetensors", NULL, "missing file");
    snap_free(&cur);
    free(bytes);
    free(bad);
    snap_free(&before);
    vg_trainer_free(&t);
}

/* ---- (e) non-finite refusal ------------------------------------------------------- */

static void test_nonfinite(const vg_dataset *ds) {
    vg_train_config c;
    small_config(&c);
    vg_trainer t;
    if (vg_trainer_init(&t, &c, ds) != VG_OK) {
        CHECK(0, "init: %s", vg_last_error());
        return;
    }
    char *dir = path_in(tmpdir, "nan");
    mkdir(dir, 0777);
    char *p = vg_ckpt_path(dir, 1);
    CHECK(vg_ckpt_save(&t, NULL, p) == VG_OK, "save: %s", vg_last_error());
    size_t n0, n1;
    char *before = read_all(p, &n0);
    const char *targets[] = {"G.net.3.weight", "ema", "adam"};
    for (int k = 0; k < 3; k++) {
        vg_real *where;
        const char *needle;
        if (k == 0) {
            where = vg_params_find(t.model.G, "G.net.3.weight")->data + 7;
            needle = "tensor 'G.net.3.weight' holds a non-finite value";
        } else if (k == 1) {
            where = t.ema.shadow + vg_params_numel(t.model.G); /* the first EMA buffer */
            needle = "tensor 'G_ema.net.1.running_mean' holds a non-finite value";
        } else {
            where = t.opt_d.v + 3;
            needle = "tensor 'optim.D.exp_avg_sq.net.0.weight' holds a non-finite value";
        }
        vg_real keep = *where;
        *where = k == 2 ? INFINITY : NAN;
        vg_status st = vg_ckpt_save(&t, NULL, p);
        CHECK(st == VG_ERR_NUMERIC, "%s: save of a non-finite state returned %s", targets[k], vg_status_name(st));
        CHECK(strstr(vg_last_error(), p) && strstr(vg_last_error(), needle), "%s: message: %s", targets[k], vg_last_error());
        *where = keep;
        char *after = read_all(p, &n1);
        CHECK(after && n0 == n1 && memcmp(before, after, n0) == 0, "%s: the previous checkpoint changed", targets[k]);
        free(after);
    }
    /* no temporary left behind */
    DIR *d = opendir(dir);
    int files = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) files += de->d_name[0] != '.';
    if (d) closedir(d);
    CHECK(files == 1, "refused saves left %d files", files);
    free(before);
    free(p);
    remove_tree(dir);
    free(dir);
    vg_trainer_free(&t);
}

/* ---- (f) killed saves -------------------------------------------------------------- */

static int save_loop(const char *dir) {
    vg_set_threads(1);
    vg_train_config c;
    big_config(&c);
    vg_trainer t;
    if (vg_trainer_init(&t, &c, NULL) != VG_OK) {
        fprintf(stderr, "save loop: %s\n", vg_last_error());
        return 1;
    }
    for (int64_t i = 1; i < 100000; i++) {
        t.step = i;
        char *p = vg_ckpt_path(dir, i);
        vg_status st = vg_ckpt_save(&t, "{\"source\":\"none\"}", p);
        if (st == VG_OK && i % 4 == 0) st = vg_ckpt_prune(dir, 2, NULL);
        if (st != VG_OK) {
            fprintf(stderr, "save loop: %s\n", vg_last_error());
            free(p);
            return 1;
        }
        free(p);
    }
    vg_trainer_free(&t);
    return 0;
}

static void test_killed_saves(const char *self) {
    char *dir = path_in(tmpdir, "killed");
    mkdir(dir, 0777);
    vg_train_config c;
    big_config(&c);
    vg_trainer t;
    if (vg_trainer_init(&t, &c, NULL) != VG_OK) {
        CHECK(0, "init: %s", vg_last_error());
        return;
    }
    /* a delay in ms, or -1: kill as soon as a temporary file appears, i.e.
     * in the middle of writing a checkpoint */
    const int delays_ms[] = {30, -1, 250, 420, -1, 610, -1, 900};
    int temps_seen = 0, found = 0;
    for (size_t r = 0; r < sizeof delays_ms / sizeof delays_ms[0]; r++) {
        pid_t pid = fork();
        if (pid == 0) {
            execl(self, self, "--save-loop", dir, (char *)NULL);
            _exit(127);
        }
        CHECK(pid > 0, "fork: %s", strerror(errno));
        if (pid <= 0) break;
        if (delays_ms[r] >= 0) {
            struct timespec ts = {delays_ms[r] / 1000, (long)(delays_ms[r] % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        } else {
            int seen = 0;
            for (int poll = 0; poll < 400000 && !seen; poll++) { /* gives up after a few seconds */
                DIR *d = opendir(dir);
                struct dirent *de;
                char mine[32];
                snprintf(mine, sizeof mine, ".tmp.%ld", (long)pid);
                while (d && !seen && (de = readdir(d)) != NULL) seen = strstr(de->d_name, mine) != NULL;
                if (d) closedir(d);
            }
            CHECK(seen, "round %zu: the saver never created a temporary file", r);
        }
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "round %zu: the saver ended on its own (status %d)", r,
              status);
        /* atomicity: every file under a final name is a complete checkpoint */
        DIR *d = opendir(dir);
        struct dirent *de;
        int final = 0, invalid = 0, temps_now = 0;
        while (d && (de = readdir(d)) != NULL) {
            if (strstr(de->d_name, ".tmp.")) {
                temps_now++;
                continue;
            }
            if (strncmp(de->d_name, "ckpt-", 5) != 0) continue;
            char *p = path_in(dir, de->d_name);
            final++;
            if (vg_ckpt_validate(p) != VG_OK) {
                invalid++;
                fprintf(stderr, "round %zu: %s\n", r, vg_last_error());
            }
            free(p);
        }
        if (d) closedir(d);
        /* a round whose kill left a temporary (the next saver's prune
         * deletes it, its writer being dead) */
        temps_seen += temps_now > 0;
        CHECK(invalid == 0, "round %zu: %d of %d checkpoint files are invalid", r, invalid, final);
        char *latest = NULL;
        int skipped = -1;
        CHECK(vg_ckpt_find_latest(dir, &latest, &skipped) == VG_OK, "find_latest: %s", vg_last_error());
        CHECK(skipped == 0, "round %zu: skipped %d", r, skipped);
        CHECK(latest != NULL || final == 0, "round %zu: no checkpoint found among %d", r, final);
        if (latest) {
            found++;
            CHECK(vg_ckpt_load(&t, latest) == VG_OK, "round %zu: load %s: %s", r, latest, vg_last_error());
            CHECK(strstr(latest, ".tmp.") == NULL, "a temporary was chosen");
        }
        free(latest);
    }
    CHECK(found > 0, "no round left a checkpoint: the saver never finished one");
    CHECK(temps_seen > 0, "no kill landed in the middle of a save");
    printf("killed saves: %d rounds left a temporary, %d rounds with a checkpoint\n", temps_seen, found);

    /* planted strays: a newer temporary and a newer broken checkpoint are
     * never chosen; the broken one is counted as skipped */
    char *newest = NULL;
    vg_ckpt_find_latest(dir, &newest, NULL);
    char *tmp = path_in(dir, "ckpt-99999999.safetensors.tmp.4242");
    char *broken = path_in(dir, "ckpt-99999998.safetensors");
    write_all(tmp, "garbage", 7);
    write_all(broken, "garbage", 7);
    char *latest = NULL;
    int skipped = -1;
    CHECK(vg_ckpt_find_latest(dir, &latest, &skipped) == VG_OK, "find_latest: %s", vg_last_error());
    CHECK(latest && newest && !strcmp(latest, newest) && skipped == 1, "strays: chose %s (skipped %d), want %s",
          latest ? latest : "(none)", skipped, newest ? newest : "(none)");
    int deleted = -1;
    CHECK(vg_ckpt_prune(dir, 1, &deleted) == VG_OK, "prune: %s", vg_last_error());
    CHECK(access(tmp, F_OK) == 0 && access(broken, F_OK) == 0, "prune removed a stray it should leave");
    free(latest);
    free(newest);
    free(tmp);
    free(broken);
    vg_trainer_free(&t);
    remove_tree(dir);
    free(dir);
}

/* ---- (g) prune and find_latest ------------------------------------------------------- */

static void test_prune(const vg_dataset *ds, const char *good) {
    vg_train_config c;
    small_config(&c);
    vg_trainer t;
    if (vg_trainer_init(&t, &c, ds) != VG_OK) {
        CHECK(0, "init: %s", vg_last_error());
        return;
    }
    char *dir = path_in(tmpdir, "prune");
    mkdir(dir, 0777);
    char *latest = (char *)"x";
    CHECK(vg_ckpt_find_latest(dir, &latest, NULL) == VG_OK && latest == NULL, "empty dir: none");
    CHECK(vg_ckpt_find_latest("/nonexistent/dir", &latest, NULL) == VG_ERR_IO &&
              strstr(vg_last_error(), "/nonexistent/dir"),
          "missing dir: %s", vg_last_error());
    int64_t steps[] = {3, 10, 7, 120000000, 5};
    for (int i = 0; i < 5; i++) {
        t.step = steps[i];
        char *p = vg_ckpt_path(dir, steps[i]);
        CHECK(vg_ckpt_save(&t, NULL, p) == VG_OK, "save: %s", vg_last_error());
        free(p);
    }
    size_t n;
    char *bytes = read_all(good, &n);
    char *keep_names[] = {"best.safetensors", "notes.txt", "ckpt-1.safetensors", "ckpt-00000001.safetensors.tmp.77"};
    for (int i = 0; i < 4; i++) {
        char *p = path_in(dir, keep_names[i]);
        write_all(p, bytes, n);
        free(p);
    }
    free(bytes);
    CHECK(vg_ckpt_find_latest(dir, &latest, NULL) == VG_OK && latest && strstr(latest, "ckpt-120000000.safetensors"),
          "latest is the 9-digit step: %s", latest ? latest : "(none)");
    free(latest);
    CHECK(vg_ckpt_prune(dir, 0, NULL) == VG_ERR_INVALID, "keep 0 refused");
    int deleted = -1;
    CHECK(vg_ckpt_prune(dir, 2, &deleted) == VG_OK && deleted == 3, "prune keep 2 deleted %d: %s", deleted,
          vg_last_error());
    const char *present[] = {"ckpt-120000000.safetensors", "ckpt-00000010.safetensors", "best.safetensors", "notes.txt",
                             "ckpt-1.safetensors", "ckpt-00000001.safetensors.tmp.77"};
    const char *gone[] = {"ckpt-00000007.safetensors", "ckpt-00000005.safetensors", "ckpt-00000003.safetensors"};
    for (int i = 0; i < 6; i++) {
        char *p = path_in(dir, present[i]);
        CHECK(access(p, F_OK) == 0, "prune deleted %s", present[i]);
        free(p);
    }
    for (int i = 0; i < 3; i++) {
        char *p = path_in(dir, gone[i]);
        CHECK(access(p, F_OK) != 0, "prune kept %s", gone[i]);
        free(p);
    }
    /* a temporary whose writer died is removed; one of a live writer (this
     * process) stays */
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
    char dead_name[96], live_name[96];
    snprintf(dead_name, sizeof dead_name, "ckpt-00000002.safetensors.tmp.%ld.0", (long)child);
    snprintf(live_name, sizeof live_name, "ckpt-00000002.safetensors.tmp.%ld.0", (long)getpid());
    char *dead_tmp = path_in(dir, dead_name), *live_tmp = path_in(dir, live_name);
    write_all(dead_tmp, "partial", 7);
    write_all(live_tmp, "partial", 7);
    CHECK(vg_ckpt_prune(dir, 2, &deleted) == VG_OK, "prune: %s", vg_last_error());
    CHECK(access(dead_tmp, F_OK) != 0, "prune kept a dead writer's temporary %s", dead_name);
    CHECK(access(live_tmp, F_OK) == 0, "prune deleted a live writer's temporary %s", live_name);
    unlink(live_tmp);
    free(dead_tmp);
    free(live_tmp);
    /* fewer valid than keep: nothing goes */
    CHECK(vg_ckpt_prune(dir, 5, &deleted) == VG_OK && deleted == 0, "prune keep 5 deleted %d", deleted);
    CHECK(vg_ckpt_prune(dir, 1, &deleted) == VG_OK && deleted == 1, "prune keep 1 deleted %d", deleted);
    remove_tree(dir);
    free(dir);
    vg_trainer_free(&t);
}

/* VmRSS or VmHWM of this process in KiB, -1 if unknown. */
static long status_kib(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0) kib = atol(line + n);
    if (f) fclose(f);
    return kib;
}

/* Saving and validating a checkpoint holds no second copy of the state: the
 * process's peak memory over a save + validate of a 64^2 model (a file of
 * ~80 MB: weights, EMA, Adam moments) grows by far less than the file
 * (a staging copy or a whole-file read would add all of it). Linux only
 * (VmHWM, reset through /proc/self/clear_refs). */
static void test_save_memory(void) {
    vg_train_config c;
    vg_train_config_default(&c);
    c.model = (vg_dcgan3d_config){.size = 64, .frames = 16, .channels = 3, .z_dim = 100, .g_base = 32, .d_base = 32};
    c.batch = 1;
    vg_trainer t;
    if (vg_trainer_init(&t, &c, NULL) != VG_OK) {
        CHECK(0, "init: %s", vg_last_error());
        return;
    }
    char *p = path_in(tmpdir, "memory.safetensors");
    FILE *clear = fopen("/proc/self/clear_refs", "w");
    int reset = clear && fputs("5", clear) >= 0;
    if (clear) reset &= fclose(clear) == 0;
    long before = status_kib("VmRSS:");
    CHECK(vg_ckpt_save(&t, NULL, p) == VG_OK, "save: %s", vg_last_error());
    CHECK(vg_ckpt_validate(p) == VG_OK, "validate: %s", vg_last_error());
    long peak = status_kib("VmHWM:");
    struct stat sb;
    long file_kib = stat(p, &sb) == 0 ? (long)(sb.st_size / 1024) : 0;
    CHECK(reset && before > 0 && peak >= before, "cannot measure: clear_refs %d, rss %ld, hwm %ld KiB", reset, before,
          peak);
    CHECK(file_kib > 32 * 1024, "the checkpoint is only %ld KiB: too small to tell", file_kib);
    CHECK(peak - before < file_kib / 8, "save + validate grew the peak by %ld KiB for a %ld KiB checkpoint",
          peak - before, file_kib);
    remove(p);
    free(p);
    vg_trainer_free(&t);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--save-loop")) return save_loop(argv[2]);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vg_ckpt_test_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        CHECK(0, "mkdtemp: %s", strerror(errno));
        TEST_END();
    }
    vg_dataset *ds = NULL;
    CHECK(vg_dataset_open(&ds, &data_spec) == VG_OK, "shapes: %s", vg_last_error());
    if (!ds) {
        remove_tree(tmpdir);
        TEST_END();
    }
    char *ckpt = path_in(tmpdir, "ckpt-00000003.safetensors");
    char *ckpt_resize = path_in(tmpdir, "resize.safetensors");
    test_resume_and_round_trip(ds, ckpt_resize, VG_G_RESIZE, 1, 1, 1, 3, 0);
    remove(ckpt_resize);
    test_resume_and_round_trip(ds, ckpt_resize, VG_G_RESIZE, 0, 0, 1, 2, 1);
    remove(ckpt_resize);
    free(ckpt_resize);
    test_resume_and_round_trip(ds, ckpt, VG_G_DECONV, 0, 0, 0, 0, 0);
    test_broken_files(ds, ckpt);
    test_nonfinite(ds);
    test_prune(ds, ckpt);
    test_save_memory();
    test_killed_saves("/proc/self/exe");
    free(ckpt);
    vg_dataset_close(ds);
    remove_tree(tmpdir);
    TEST_END();
}
