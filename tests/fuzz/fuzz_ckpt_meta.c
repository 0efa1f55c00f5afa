/* fuzz_ckpt_meta.c — libFuzzer target for the JSON that checkpoints carry
 * (src/train/checkpoint.c): the metadata parser (model_config,
 * train_config, rng, step counters, data) and vg_ckpt_data_parse, the data
 * set description a resumed run reopens.
 *
 * The input is split at newlines into the metadata values model_config,
 * train_config, rng, step, adam_step_g, adam_step_d, skipped and data; a
 * safetensors file holding them (and no tensors) is built in memory and
 * parsed by checkpoint.c's own meta_parse (the file is included here to
 * reach that static function); the data line also goes to
 * vg_ckpt_data_parse. Every input must parse or fail with a message naming
 * the file, never crash or leak. Built with -ffunction-sections and
 * --gc-sections so only the parsing half of checkpoint.c is linked. */
#include "../../src/train/checkpoint.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const keys[] = {"model_config", "train_config", "rng", "step", "adam_step_g", "adam_step_d",
                                       "skipped", "data"};
    enum { NKEYS = sizeof keys / sizeof keys[0] };
    json_t *meta = json_pack("{s:s, s:s, s:s}", "format", VG_CKPT_FORMAT, "format_version", "1", "model", MODEL_NAME);
    if (!meta) return 0;
    const char *p = (const char *)data, *end = p + size;
    char *data_line = NULL;
    for (int k = 0; k < NKEYS && p <= end; k++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_t *v = json_stringn(p, len); /* NULL for invalid UTF-8 or NUL bytes: key left out */
        if (v) json_object_set_new(meta, keys[k], v);
        if (k == NKEYS - 1 && v) data_line = strndup(p, len);
        if (!nl) break;
        p = nl + 1;
    }
    json_t *root = json_pack("{s:o}", "__metadata__", meta);
    char *header = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (header) {
        size_t hl = strlen(header);
        uint8_t *file = malloc(8 + hl);
        if (file) {
            for (int i = 0; i < 8; i++) file[i] = (uint8_t)((uint64_t)hl >> (8 * i));
            memcpy(file + 8, header, hl);
            vg_st_file *f = NULL;
            if (vg_st_open_memory(&f, file, 8 + hl, "fuzz.safetensors") == VG_OK) {
                ck_meta m;
                if (meta_parse(f, &m) != VG_OK) VG_ASSERT(strstr(vg_last_error(), "fuzz.safetensors") != NULL);
                vg_st_close(f);
            }
            free(file);
        }
        free(header);
    }
    if (data_line) {
        vg_dataset_spec spec;
        char *owned = NULL;
        if (vg_ckpt_data_parse(data_line, &spec, &owned) == VG_OK) {
            VG_ASSERT(spec.source != NULL);
            char *again = vg_ckpt_data_json(&spec); /* what was parsed can be written back */
            VG_ASSERT(again != NULL);
            free(again);
        }
        free(owned);
        free(data_line);
    }
    return 0;
}
