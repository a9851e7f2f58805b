/* The C side of the Go SDK: the table the host loads, and trampolines for the host callbacks
 * (cgo cannot call C function pointers). */
#include <stddef.h>

#include "loadrun_plugin.h"
#include "_cgo_export.h"

void lr_go_log(const lr_host_api *a, lr_host *h, int32_t level, const char *m, size_t n) {
    a->log(h, level, m, n);
}

void lr_go_count(const lr_host_api *a, lr_host *h, const char *m, size_t n, uint64_t d) {
    a->add_counter(h, m, n, d);
}

int32_t lr_go_abort(const lr_host_api *a, lr_host *h, const char *m, size_t n) {
    return a->request_abort(h, m, n);
}

int64_t lr_go_stop_left(const lr_host_api *a, lr_host *h) {
    return a->stop_time_left_ms(h);
}

/* A runtime/cgo.Handle is an integer; the host sees it as the opaque instance pointer. The
 * conversions are done here so Go never turns an integer into a pointer. */
lr_output *lr_go_from_handle(uintptr_t h) { return (lr_output *)h; }
uintptr_t lr_go_to_handle(lr_output *o) { return (uintptr_t)o; }

static lr_plugin_api API = {
    sizeof(lr_plugin_api), LR_ABI_MAJOR, LR_ABI_MINOR, 0, NULL,
    (int32_t (*)(const char *, size_t, lr_output **, lr_msg *))lrGoNew,
    (int32_t (*)(lr_output *, const lr_host_api *, lr_host *, lr_msg *))lrGoStart,
    (int32_t (*)(lr_output *, const lr_batch *, int64_t *, lr_msg *))lrGoWrite,
    (int32_t (*)(lr_output *, uint64_t, lr_msg *))lrGoFlush,
    (int32_t (*)(lr_output *, const char *, size_t, uint64_t, lr_msg *))lrGoStop,
    (void (*)(lr_output *))lrGoDestroy,
};

LR_EXPORT const lr_plugin_api *loadrun_plugin_v1(uint32_t host_abi_major, uint32_t host_abi_minor) {
    (void)host_abi_minor;
    if (host_abi_major != LR_ABI_MAJOR) return NULL;
    /* Built once from what the plugin registered (its init functions have run by now); kept
     * for the life of the process, as the header requires. */
    if (API.info_json == NULL) API.info_json = lrGoInfo();
    return API.info_json != NULL ? &API : NULL;
}
