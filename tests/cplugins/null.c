/* A C-face output that does nothing with each batch, like the Rust test plugin's tb-null:
 * what is measured is the host-to-plugin path alone (benches/faces.rs, benches/pipeline.rs). */
#include <loadrun_plugin.h>
#include <stdlib.h>

struct lr_output { int unused; };

static int32_t n(const char *init, size_t len, lr_output **out, lr_msg *err) {
    (void)init; (void)len;
    *out = calloc(1, sizeof **out);
    return *out ? LR_OK : lr_msg_set(err, "out of memory", LR_FATAL);
}
static int32_t s(lr_output *o, const lr_host_api *a, lr_host *h, lr_msg *e) { (void)o; (void)a; (void)h; (void)e; return LR_OK; }
static int32_t w(lr_output *o, const lr_batch *b, int64_t *r, lr_msg *m) { (void)o; (void)b; (void)r; (void)m; return LR_OK; }
static int32_t f(lr_output *o, uint64_t t, lr_msg *e) { (void)o; (void)t; (void)e; return LR_OK; }
static int32_t st(lr_output *o, const char *j, size_t l, uint64_t t, lr_msg *e) { (void)o; (void)j; (void)l; (void)t; (void)e; return LR_OK; }
static void d(lr_output *o) { free(o); }

static const lr_plugin_api API = {
    sizeof(lr_plugin_api), LR_ABI_MAJOR, LR_ABI_MINOR, 0,
    "{\"format\":1,\"plugin\":\"out_cnull\",\"version\":\"0.1.0\",\"outputs\":[{\"name\":\"c-null\","
    "\"description\":\"does nothing with each batch (benchmarks)\"}]}",
    n, s, w, f, st, d,
};

LR_EXPORT const lr_plugin_api *loadrun_plugin_v1(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == LR_ABI_MAJOR ? &API : NULL;
}
