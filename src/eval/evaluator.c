/* The evaluator network (see evaluator.h): its layers, the frozen feature
 * forward, and its safetensors file (weights + config + training protocol
 * in __metadata__, named by the file's SHA-256). Training lives in
 * evaluator_train.c. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sha256.h"
#include "core/status.h"
#include "eval/evaluator_impl.h"
#include "io/safetensors.h"
#include "train/params_io.h"

#define EVAL_FORMAT "vidgan-evaluator"
#define EVAL_FORMAT_VERSION "1"
#define FEATURE_CHUNK 16 /* clips per forward in vg_evaluator_features */

static const char *const task_names[VG_EVAL_TASK_COUNT] = {"labels", "temporal"};
static const char *const label_map_names[VG_EVAL_LABELS_COUNT] = {"identity", "unordered_pair"};

const char *vg_evaluator_task_name(vg_evaluator_task t) {
    return (unsigned)t < VG_EVAL_TASK_COUNT ? task_names[t] : "?";
}

int vg_evaluator_task_parse(const char *s, vg_evaluator_task *out) {
    for (int i = 0; i < VG_EVAL_TASK_COUNT; i++)
        if (s && strcmp(s, task_names[i]) == 0) {
            *out = (vg_evaluator_task)i;
            return 1;
        }
    return 0;
}

static vg_status check_config(const vg_evaluator_config *c, const char *where) {
    if (c->channels < 1 || c->channels > 4)
        return vg_fail(VG_ERR_INVALID, "%s: evaluator channels must be in [1, 4], got %d", where, c->channels);
    if (c->frames < 1 || c->frames > 256)
        return vg_fail(VG_ERR_INVALID, "%s: evaluator frames must be in [1, 256], got %d", where, c->frames);
    if (c->size < 8 || c->size > 512)
        return vg_fail(VG_ERR_INVALID, "%s: evaluator size must be in [8, 512], got %d", where, c->size);
    if (c->width < 1 || c->width > 256)
        return vg_fail(VG_ERR_INVALID, "%s: evaluator width must be in [1, 256], got %d", where, c->width);
    if (c->num_classes < 2 || c->num_classes > 10000)
        return vg_fail(VG_ERR_INVALID, "%s: evaluator num_classes must be in [2, 10000], got %d", where, c->num_classes);
    if ((unsigned)c->task >= VG_EVAL_TASK_COUNT)
        return vg_fail(VG_ERR_INVALID, "%s: unknown evaluator task %d", where, (int)c->task);
    if (c->task == VG_EVAL_TASK_TEMPORAL && (c->num_classes != 3 || c->frames < 3))
        return vg_fail(VG_ERR_INVALID, "%s: the temporal task needs 3 classes and >= 3 frames, got %d classes, %d frames", where,
                       c->num_classes, c->frames);
    return VG_OK;
}

static int64_t feature_dim(const vg_evaluator_config *c) { return (int64_t)c->width << (VG_EVAL_BLOCKS - 1); }

vg_status vg_evaluator_create(vg_evaluator **out, const vg_evaluator_config *cfg, uint64_t seed) {
    *out = NULL;
    vg_status st = check_config(cfg, "evaluator");
    if (st != VG_OK) return st;
    vg_evaluator *e = calloc(1, sizeof *e);
    if (!e) return vg_fail(VG_ERR_NOMEM, "evaluator: out of memory");
    e->cfg = *cfg;
    if ((st = vg_ctx_new(&e->ctx, NULL)) != VG_OK || (st = vg_params_new(&e->P, e->ctx)) != VG_OK) goto fail;
    int64_t in = 2 * cfg->channels; /* the frames and their differences */
    int t = cfg->frames;
    for (int b = 0; b < VG_EVAL_BLOCKS; b++) {
        vg_eval_block *B = &e->block[b];
        int64_t c = (int64_t)cfg->width << b;
        char name[64];
        snprintf(name, sizeof name, "blocks.%d.conv.weight", b);
        B->weight = vg_param_add(e->P, name, 5, (int64_t[]){c, in, 3, 3, 3});
        snprintf(name, sizeof name, "blocks.%d.bn.weight", b);
        B->bn_weight = vg_param_add(e->P, name, 1, &c);
        snprintf(name, sizeof name, "blocks.%d.bn.bias", b);
        B->bn_bias = vg_param_add(e->P, name, 1, &c);
        snprintf(name, sizeof name, "blocks.%d.bn.running_mean", b);
        B->bn_mean = vg_buffer_add(e->P, name, 1, &c);
        snprintf(name, sizeof name, "blocks.%d.bn.running_var", b);
        B->bn_var = vg_buffer_add(e->P, name, 1, &c);
        if (!B->weight || !B->bn_weight || !B->bn_bias || !B->bn_mean || !B->bn_var) {
            st = VG_ERR_INVALID;
            goto fail;
        }
        B->stride_t = t > 1 ? 2 : 1;
        t = (t - 1) / B->stride_t + 1;
        in = c;
    }
    e->head_weight = vg_param_add(e->P, "head.weight", 2, (int64_t[]){cfg->num_classes, feature_dim(cfg)});
    e->head_bias = vg_param_add(e->P, "head.bias", 1, (int64_t[]){cfg->num_classes});
    if (!e->head_weight || !e->head_bias) {
        st = VG_ERR_INVALID;
        goto fail;
    }
    if ((st = vg_params_finalize(e->P)) != VG_OK) goto fail;
    /* Kaiming-uniform-like init (torch's default bound 1/sqrt(fan_in)) for the
     * convs and the head, BN weight 1, bias 0, running (0, 1); each tensor its
     * own Philox offset range. */
    uint64_t offset = 0;
    for (int b = 0; b < VG_EVAL_BLOCKS; b++) {
        vg_eval_block *B = &e->block[b];
        double fan_in = (double)vg_tensor_dim(B->weight, 1) * 27.0, bound = sqrt(6.0 / fan_in);
        vg_tensor_fill_uniform(B->weight, seed, offset, -bound, bound);
        offset += (uint64_t)vg_tensor_numel(B->weight);
        vg_tensor_fill_uniform(B->bn_weight, seed, 0, 1.0, 1.0);
        vg_tensor_fill_uniform(B->bn_bias, seed, 0, 0.0, 0.0);
        vg_tensor_fill_uniform(B->bn_mean, seed, 0, 0.0, 0.0);
        vg_tensor_fill_uniform(B->bn_var, seed, 0, 1.0, 1.0);
    }
    double hb = 1.0 / sqrt((double)feature_dim(cfg));
    vg_tensor_fill_uniform(e->head_weight, seed, offset, -hb, hb);
    vg_tensor_fill_uniform(e->head_bias, seed, 0, 0.0, 0.0);
    e->label_map = VG_EVAL_LABELS_IDENTITY;
    *out = e;
    return VG_OK;
fail:
    vg_evaluator_free(e);
    return st;
}

void vg_evaluator_free(vg_evaluator *e) {
    if (!e) return;
    vg_params_free(e->P);
    vg_ctx_free(e->ctx);
    free(e->data_json);
    free(e);
}

const vg_evaluator_config *vg_evaluator_get_config(const vg_evaluator *e) { return &e->cfg; }
int64_t vg_evaluator_feature_dim(const vg_evaluator *e) { return feature_dim(&e->cfg); }
double vg_evaluator_holdout_accuracy(const vg_evaluator *e) { return e->holdout_accuracy; }

int64_t vg_evaluator_class_of(const vg_evaluator *e, int64_t label) {
    if (e->cfg.task != VG_EVAL_TASK_LABELS) return -1;
    if (e->label_map == VG_EVAL_LABELS_UNORDERED_PAIR) {
        if (label < 0 || label >= 100) return -1;
        int64_t a = label / 10, b = label % 10;
        if (a > b) {
            int64_t s = a;
            a = b, b = s;
        }
        return a * 10 - a * (a - 1) / 2 + (b - a);
    }
    return label >= 0 && label < e->cfg.num_classes ? label : -1;
}

vg_status vg_evaluator_set_data_json(vg_evaluator *e, const char *json) {
    char *copy = strdup(json ? json : "null");
    if (!copy) return vg_fail(VG_ERR_NOMEM, "evaluator: out of memory");
    free(e->data_json);
    e->data_json = copy;
    return VG_OK;
}

/* (N, C, T, H, W) -> (N, 2C, T, H, W): the frames, then the differences
 * x[t + 1] - x[t] (zero for the last frame). Motion is then visible to the
 * first layer, so shuffled or frozen frames change the features directly. */
static vg_tensor *with_differences(vg_ctx *ctx, vg_tensor *x) {
    if (!x) return NULL;
    int64_t n = vg_tensor_dim(x, 0), c = vg_tensor_dim(x, 1), t = vg_tensor_dim(x, 2), h = vg_tensor_dim(x, 3), w = vg_tensor_dim(x, 4);
    vg_tensor *zero = vg_tensor_zeros(ctx, 5, (int64_t[]){n, c, 1, h, w}, 0);
    if (t == 1) return vg_concat(ctx, (vg_tensor *[]){x, zero}, 2, 1);
    vg_tensor *diff = vg_sub(ctx, vg_slice(ctx, x, 2, 1, t, 1), vg_slice(ctx, x, 2, 0, t - 1, 1));
    vg_tensor *motion = vg_concat(ctx, (vg_tensor *[]){diff, zero}, 2, 2);
    return vg_concat(ctx, (vg_tensor *[]){x, motion}, 2, 1);
}

vg_tensor *vg_evaluator_forward(vg_evaluator *e, vg_ctx *ctx, vg_tensor *x, int training, vg_tensor **features) {
    vg_tensor *h = with_differences(ctx, x);
    for (int b = 0; b < VG_EVAL_BLOCKS; b++) {
        const vg_eval_block *B = &e->block[b];
        vg_conv_args a = {.stride = {B->stride_t, 2, 2}, .padding = {1, 1, 1}};
        h = vg_conv3d(ctx, h, B->weight, NULL, a);
        h = vg_batch_norm(ctx, h, B->bn_weight, B->bn_bias, B->bn_mean, B->bn_var, training, 0.1, 1e-5);
        h = vg_leaky_relu_inplace(ctx, h, 0.2);
    }
    if (!h) return NULL;
    /* global average pool over (T, H, W) */
    int64_t n = vg_tensor_dim(h, 0), c = vg_tensor_dim(h, 1);
    vg_tensor *f = vg_mean_dim(ctx, vg_reshape(ctx, h, 3, (int64_t[]){n, c, -1}), 2, 0);
    if (features) *features = f;
    return vg_linear(ctx, f, e->head_weight, e->head_bias);
}

/* Every forward sees exactly FEATURE_CHUNK clips (the last chunk padded with
 * zeros): the kernels' blocking then never depends on n, so a clip's
 * features are the same bits however the clips are split into calls. */
vg_status vg_evaluator_features(vg_evaluator *e, const float *clips, int64_t n, float *features, float *logits) {
    const vg_evaluator_config *c = &e->cfg;
    const int64_t clip = (int64_t)c->channels * c->frames * c->size * c->size, dim = feature_dim(c), K = c->num_classes;
    if (n < 0) return vg_fail(VG_ERR_INVALID, "evaluator features: negative clip count %lld", (long long)n);
    float *pad = NULL, *fbuf = malloc((size_t)(FEATURE_CHUNK * (dim + K)) * sizeof *fbuf);
    if (!fbuf) return vg_fail(VG_ERR_NOMEM, "evaluator features: out of memory");
    vg_ctx_set_grad_enabled(e->ctx, 0);
    vg_status st = VG_OK;
    for (int64_t i = 0; i < n && st == VG_OK; i += FEATURE_CHUNK) {
        int64_t k = n - i < FEATURE_CHUNK ? n - i : FEATURE_CHUNK;
        const float *src = clips + i * clip;
        if (k < FEATURE_CHUNK) {
            if (!pad && !(pad = calloc((size_t)(FEATURE_CHUNK * clip), sizeof *pad))) {
                st = vg_fail(VG_ERR_NOMEM, "evaluator features: out of memory");
                break;
            }
            memcpy(pad, src, (size_t)(k * clip) * sizeof *pad);
            src = pad;
        }
        vg_ctx_reset(e->ctx);
        vg_tensor *x = vg_tensor_from(e->ctx, 5, (int64_t[]){FEATURE_CHUNK, c->channels, c->frames, c->size, c->size}, src);
        vg_tensor *f = NULL;
        vg_tensor *y = vg_evaluator_forward(e, e->ctx, x, 0, &f);
        if (!y || !f) {
            st = vg_ctx_status(e->ctx) != VG_OK ? vg_ctx_status(e->ctx) : VG_ERR_INVALID;
            break;
        }
        if ((st = vg_tensor_read(f, fbuf)) != VG_OK || (st = vg_tensor_read(y, fbuf + FEATURE_CHUNK * dim)) != VG_OK) break;
        memcpy(features + i * dim, fbuf, (size_t)(k * dim) * sizeof *fbuf);
        if (logits) memcpy(logits + i * K, fbuf + FEATURE_CHUNK * dim, (size_t)(k * K) * sizeof *fbuf);
    }
    vg_ctx_reset(e->ctx);
    vg_ctx_set_grad_enabled(e->ctx, 1);
    free(pad);
    free(fbuf);
    if (st != VG_OK) return st;
    for (int64_t i = 0; i < n * dim; i++)
        if (!isfinite(features[i]))
            return vg_fail(VG_ERR_NUMERIC, "evaluator features: clip %lld gives a non-finite feature (non-finite pixels?)",
                           (long long)(i / dim));
    return VG_OK;
}

/* ---- file format ----------------------------------------------------------- */

static json_t *config_json(const vg_evaluator_config *c) {
    return json_pack("{s:i, s:i, s:i, s:i, s:i, s:s, s:I, s:s}", "channels", c->channels, "frames", c->frames, "size", c->size,
                     "num_classes", c->num_classes, "width", c->width, "task", vg_evaluator_task_name(c->task), "feature_dim",
                     (json_int_t)feature_dim(c), "architecture",
                     "input: frames and frame differences x[t+1] - x[t] (last 0), 2C channels; 4 x [conv3d 3x3x3 pad 1 stride (2 while T > 1, 2, 2), no bias; BatchNorm3d; LeakyReLU 0.2], "
                     "widths width * (1, 2, 4, 8); mean over (T, H, W) = features; linear head");
}

static vg_status add_meta_json(vg_st_writer *w, const char *key, json_t *j) {
    if (!j) return vg_fail(VG_ERR_NOMEM, "evaluator: out of memory building the metadata");
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    if (!text) return vg_fail(VG_ERR_NOMEM, "evaluator: out of memory building the metadata");
    vg_status st = vg_st_writer_meta(w, key, text);
    free(text);
    return st;
}

vg_status vg_evaluator_save(const vg_evaluator *e, const char *path, char hash[65]) {
    vg_st_writer *w = NULL;
    float *staging = NULL;
    vg_status st = vg_st_writer_new(&w);
    if (st != VG_OK) return st;
    json_error_t jerr;
    json_t *data = json_loads(e->data_json ? e->data_json : "null", JSON_DECODE_ANY, &jerr);
    if (!data) {
        st = vg_fail(VG_ERR_INVALID, "%s: the evaluator's data description is not JSON (%s)", path, jerr.text);
        goto done;
    }
    json_t *training = json_pack("{s:o, s:s, s:i, s:i, s:f, s:I, s:I, s:f, s:i}", "data", data, "label_map",
                                 label_map_names[e->label_map], "steps", e->steps, "batch", e->batch, "lr", e->lr, "seed",
                                 (json_int_t)e->seed, "holdout", (json_int_t)e->holdout, "holdout_accuracy",
                                 e->holdout_accuracy, "threads", vg_get_threads());
    if ((st = vg_st_writer_meta(w, "format", EVAL_FORMAT)) != VG_OK ||
        (st = vg_st_writer_meta(w, "format_version", EVAL_FORMAT_VERSION)) != VG_OK ||
        (st = vg_st_writer_meta(w, "vidgan_version", VG_VERSION)) != VG_OK ||
        (st = add_meta_json(w, "config", config_json(&e->cfg))) != VG_OK || (st = add_meta_json(w, "training", training)) != VG_OK ||
        (st = vg_params_to_writer(e->P, w, "", &staging)) != VG_OK)
        goto done;
    for (int64_t i = 0; i < vg_params_numel_all(e->P); i++)
        if (!isfinite(staging[i])) {
            st = vg_fail(VG_ERR_NUMERIC, "%s: not saved: the evaluator has non-finite weights", path);
            goto done;
        }
    if ((st = vg_st_writer_save(w, path)) != VG_OK) goto done;
    if (hash) st = vg_sha256_file(path, hash);
done:
    vg_st_writer_free(w);
    free(staging);
    return st;
}

/* The JSON object stored under key, parsed; errors name the file. */
static vg_status meta_object(const vg_st_file *f, const char *key, json_t **out) {
    const char *text = vg_st_meta(f, key);
    if (!text) return vg_fail(VG_ERR_FORMAT, "%s: not a vidgan evaluator: no \"%s\" in the metadata", vg_st_path(f), key);
    json_error_t jerr;
    *out = json_loads(text, 0, &jerr);
    if (!*out || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return vg_fail(VG_ERR_FORMAT, "%s: metadata \"%s\" is not a JSON object", vg_st_path(f), key);
    }
    return VG_OK;
}

static vg_status int_field(const vg_st_file *f, const char *obj, json_t *j, const char *key, int *out) {
    json_t *v = json_object_get(j, key);
    if (!json_is_integer(v) || json_integer_value(v) < -2147483647 || json_integer_value(v) > 2147483647)
        return vg_fail(VG_ERR_FORMAT, "%s: metadata %s.%s: expected an integer", vg_st_path(f), obj, key);
    *out = (int)json_integer_value(v);
    return VG_OK;
}

static vg_status parse_file(const vg_st_file *f, vg_evaluator_config *cfg, json_t **training) {
    const char *path = vg_st_path(f);
    const char *format = vg_st_meta(f, "format");
    if (!format || strcmp(format, EVAL_FORMAT) != 0)
        return vg_fail(VG_ERR_FORMAT, "%s: not a vidgan evaluator (metadata format is %s%s%s, expected \"%s\")", path,
                       format ? "\"" : "", format ? format : "missing", format ? "\"" : "", EVAL_FORMAT);
    const char *version = vg_st_meta(f, "format_version");
    if (!version || strcmp(version, EVAL_FORMAT_VERSION) != 0)
        return vg_fail(VG_ERR_FORMAT, "%s: evaluator format version %s, this build reads %s", path, version ? version : "missing",
                       EVAL_FORMAT_VERSION);
    json_t *c = NULL;
    vg_status st = meta_object(f, "config", &c);
    if (st != VG_OK) return st;
    const char *task = json_string_value(json_object_get(c, "task"));
    if ((st = int_field(f, "config", c, "channels", &cfg->channels)) != VG_OK ||
        (st = int_field(f, "config", c, "frames", &cfg->frames)) != VG_OK || (st = int_field(f, "config", c, "size", &cfg->size)) != VG_OK ||
        (st = int_field(f, "config", c, "num_classes", &cfg->num_classes)) != VG_OK ||
        (st = int_field(f, "config", c, "width", &cfg->width)) != VG_OK)
        goto done;
    if (!vg_evaluator_task_parse(task, &cfg->task)) {
        st = vg_fail(VG_ERR_FORMAT, "%s: metadata config.task: expected \"labels\" or \"temporal\"", path);
        goto done;
    }
    if ((st = check_config(cfg, path)) != VG_OK) goto done;
    st = meta_object(f, "training", training);
done:
    json_decref(c);
    return st == VG_ERR_INVALID ? VG_ERR_FORMAT : st;
}

vg_status vg_evaluator_load(vg_evaluator **out, const char *path, char hash[65]) {
    *out = NULL;
    vg_st_file *f = NULL;
    json_t *training = NULL;
    vg_evaluator *e = NULL;
    vg_evaluator_config cfg;
    vg_status st = vg_st_open(&f, path);
    if (st != VG_OK) return st;
    if ((st = parse_file(f, &cfg, &training)) != VG_OK || (st = vg_evaluator_create(&e, &cfg, 0)) != VG_OK ||
        (st = vg_params_from_file(e->P, f, "", 1)) != VG_OK)
        goto done;
    /* the protocol, as far as it is there (it is informative, not needed to run) */
    json_t *d = json_object_get(training, "data");
    char *data = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    st = vg_evaluator_set_data_json(e, data);
    free(data);
    if (st != VG_OK) goto done;
    const char *map = json_string_value(json_object_get(training, "label_map"));
    for (int i = 0; map && i < VG_EVAL_LABELS_COUNT; i++)
        if (strcmp(map, label_map_names[i]) == 0) e->label_map = (vg_evaluator_label_map)i;
    e->steps = (int)json_integer_value(json_object_get(training, "steps"));
    e->batch = (int)json_integer_value(json_object_get(training, "batch"));
    e->lr = json_number_value(json_object_get(training, "lr"));
    e->seed = (uint64_t)json_integer_value(json_object_get(training, "seed"));
    e->holdout = json_integer_value(json_object_get(training, "holdout"));
    e->holdout_accuracy = json_number_value(json_object_get(training, "holdout_accuracy"));
    vg_real *w = vg_params_data(e->P);
    for (int64_t i = 0; i < vg_params_numel_all(e->P); i++)
        if (!isfinite(w[i])) {
            st = vg_fail(VG_ERR_FORMAT, "%s: the evaluator's weights hold non-finite values", path);
            goto done;
        }
    vg_params_set_requires_grad(e->P, 0);
    if (hash) st = vg_sha256_file(path, hash);
done:
    json_decref(training);
    vg_st_close(f);
    if (st != VG_OK) {
        vg_evaluator_free(e);
        return st;
    }
    *out = e;
    return VG_OK;
}
