/* loadrun_plugin.h - the C face of the loadrun output-plugin contract, C ABI 1.0.
 *
 * A plugin is a shared object exporting one symbol, `loadrun_plugin_v1`, which returns a
 * table of functions (lr_plugin_api). The host gives each started output a table of callbacks
 * (lr_host_api). Both tables start with their size in bytes: fields are only ever appended, and
 * each side checks the other's size before using a field added later.
 *
 * Ownership: every pointer below says who owns what it points to and for how long.
 *   BORROWED(call)  - valid only during the call that received it; copy what must outlive it.
 *   BORROWED(host)  - owned by the host, valid until the host calls destroy() on the output.
 *   STATIC(plugin)  - owned by the plugin, valid as long as the library is loaded (forever:
 *                     the host never unloads a plugin).
 *   OWNED(plugin)   - created and freed by the plugin.
 * Text is UTF-8. lr_str is NOT NUL-terminated; a `const char *` with a length is not either.
 *
 * Threads: all calls on one lr_output come from one host thread, never concurrently; different
 * outputs are called from different threads. Host callbacks may be called from any thread the
 * plugin owns, until destroy() returns.
 *
 * Errors: calls return LR_OK, LR_RETRY (write only) or LR_FATAL. On a failure the plugin writes
 * one line (no secrets) into the host-owned lr_msg it was given. Nothing may unwind (C++
 * exceptions, Rust panics, Go panics) out of a call: catch it and return LR_FATAL.
 *
 * See plugin-api/README.md ("The C face") for the full contract. */
#ifndef LOADRUN_PLUGIN_H
#define LOADRUN_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* This header's C ABI version. A host refuses a plugin whose major differs from its own. */
#define LR_ABI_MAJOR 1u
#define LR_ABI_MINOR 0u

/* The exported entry symbol's name, for hosts that look it up. */
#define LR_ENTRY_SYMBOL "loadrun_plugin_v1"

#if defined(_WIN32)
#define LR_EXPORT __declspec(dllexport)
#else
#define LR_EXPORT __attribute__((visibility("default")))
#endif

/* The standard counters (lr_host_api.add_counter): samples the plugin answered LR_OK to but
 * could not deliver after all. The host moves them from `written` to `dropped`. */
#define LR_COUNTER_SAMPLES_LOST "samples_lost"
#define LR_COUNTER_SAMPLES_REJECTED "samples_rejected"

/* Results of every int32_t-returning plugin function. */
enum { LR_OK = 0, LR_RETRY = 1, LR_FATAL = 2 };
/* lr_metric_def.metric_type: k6's metric types. */
enum { LR_COUNTER = 0, LR_GAUGE = 1, LR_RATE = 2, LR_TREND = 3 };
/* lr_metric_def.contains: what values measure (time in ms, data in bytes). */
enum { LR_VALUE_DEFAULT = 0, LR_VALUE_TIME = 1, LR_VALUE_DATA = 2 };
/* lr_host_api.log levels. */
enum { LR_LOG_ERROR = 0, LR_LOG_WARN = 1, LR_LOG_INFO = 2, LR_LOG_DEBUG = 3, LR_LOG_TRACE = 4 };

/* Text with a length, not NUL-terminated. */
typedef struct lr_str {
    const char *ptr; /* BORROWED(call) */
    size_t len;
} lr_str;

typedef struct lr_kv {
    lr_str key;
    lr_str value;
} lr_kv;

/* A submetric of a threshold or the summary: `name` is `metric{k:v}`, `suffix` is `k:v`. */
typedef struct lr_submetric_def {
    lr_str name;
    lr_str suffix;
    const lr_kv *tags; /* BORROWED(call), tags_len entries, sorted by key */
    size_t tags_len;
} lr_submetric_def;

/* A metric, defined once and referred to by id afterwards. */
typedef struct lr_metric_def {
    uint32_t id;
    uint8_t metric_type; /* LR_COUNTER.. */
    uint8_t contains;    /* LR_VALUE_DEFAULT.. */
    uint16_t _reserved;
    lr_str name;
    const lr_str *thresholds; /* BORROWED(call): threshold sources on this metric, e.g. p(95)<500 */
    size_t thresholds_len;
    const lr_submetric_def *submetrics; /* BORROWED(call) */
    size_t submetrics_len;
} lr_metric_def;

/* A series: a metric and a tag set, defined once and referred to by id afterwards. */
typedef struct lr_series_def {
    uint32_t id;
    uint32_t metric;        /* an lr_metric_def.id */
    const lr_kv *tags;      /* BORROWED(call), sorted by key; a value may be empty */
    size_t tags_len;
    const lr_kv *metadata;  /* BORROWED(call), sorted by key (k6's vu, iter) */
    size_t metadata_len;
} lr_series_def;

/* One measurement: 24 bytes, exactly the Rust ABI's `Sample`, so the host passes its own
 * array without copying. */
typedef struct lr_sample {
    uint32_t series; /* an lr_series_def.id */
    uint32_t _reserved;
    int64_t time_ns; /* Unix time in nanoseconds */
    double value;    /* ms for time metrics, bytes for data, 0 or 1 for rates */
} lr_sample;

/* What write() gets. The definitions are those not given before (they may repeat, e.g. on a
 * retried write; an id always means the same thing). Every sample's series, and every series'
 * metric, is defined in this batch or an earlier one. */
typedef struct lr_batch {
    const lr_metric_def *metrics; /* BORROWED(call), may be NULL when metrics_len is 0 */
    size_t metrics_len;
    const lr_series_def *series;  /* BORROWED(call), may be NULL when series_len is 0 */
    size_t series_len;
    const lr_sample *samples;     /* BORROWED(call), may be NULL when samples_len is 0 */
    size_t samples_len;
} lr_batch;

/* A host-owned buffer for one line of text (an error, a retry reason). The plugin writes at
 * most `cap` bytes of UTF-8 into `buf` (no NUL needed) and sets `len`. Never secrets. */
typedef struct lr_msg {
    char *buf; /* BORROWED(call), owned by the host */
    size_t cap;
    size_t len;
} lr_msg;

/* Copies `text` into `msg`, cut at its capacity. Returns `result`, so that
 * `return lr_msg_set(err, "no such file", LR_FATAL);` reads as one statement. */
static inline int32_t lr_msg_set(lr_msg *msg, const char *text, int32_t result) {
    size_t n;
    if (msg == NULL || msg->buf == NULL || text == NULL) return result;
    n = strlen(text);
    if (n > msg->cap) n = msg->cap;
    memcpy(msg->buf, text, n);
    msg->len = n;
    return result;
}

/* The host's side of one output instance: an opaque handle, BORROWED(host). */
typedef struct lr_host lr_host;

/* Host services, BORROWED(host), callable from any plugin thread until destroy() returns.
 * Check struct_size before using a field this header marks as added after 1.0. */
typedef struct lr_host_api {
    uint32_t struct_size; /* sizeof(lr_host_api) as built by the host */
    uint32_t abi_minor;   /* the host's LR_ABI_MINOR */
    /* Logs one line under the output's name; msg is BORROWED(call). */
    void (*log)(lr_host *host, int32_t level, const char *msg, size_t len);
    /* Adds delta to a plugin counter (LR_COUNTER_SAMPLES_LOST/_REJECTED or the plugin's own);
     * name is BORROWED(call). */
    void (*add_counter)(lr_host *host, const char *name, size_t name_len, uint64_t delta);
    /* Asks the host to stop the test. Returns 1 if accepted (the user allowed it for this
     * output with abortOnError=true), 0 if not. reason is BORROWED(call). */
    int32_t (*request_abort)(lr_host *host, const char *reason, size_t len);
    /* -1 while the run goes on; once the host has begun stopping this output, the milliseconds
     * left before it gives up on it (0 once passed). Cap blocking work in write() by it. */
    int64_t (*stop_time_left_ms)(lr_host *host);
} lr_host_api;

/* The plugin's output instance: opaque to the host, OWNED(plugin) from new_output() until
 * destroy(). */
typedef struct lr_output lr_output;

/* The plugin's function table, STATIC(plugin). */
typedef struct lr_plugin_api {
    uint32_t struct_size; /* sizeof(lr_plugin_api) as built by the plugin */
    uint32_t abi_major;   /* LR_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;   /* LR_ABI_MINOR the plugin was built with */
    uint32_t _reserved;
    /* STATIC(plugin), NUL-terminated JSON: what the plugin is and which outputs it provides,
     * with their declared options, in the format of the Rust SDK's declaration
     * (loadrun_plugin_api::declaration::options_json) plus "plugin" and "version":
     * {"format":1,"plugin":"out_x","version":"0.1.0","outputs":[{"name":"x","aliases":[],
     *  "description":"...","positional":{"value":"file"},"options":[{"name":"file",
     *  "kind":{"type":"string"},"default":"x.txt","doc":"..."}]}]} */
    const char *info_json;
    /* Creates an output instance for `-o NAME`. init_json is BORROWED(call):
     * {"output":"x","arg":"..."|null,"config":{...},"options":{checked values},
     *  "test":{"testId","planName","startUnixNs","plannedDurationMs","maxVus","tags":{}}}.
     * "options" holds the values of the declared options, merged (defaults < plan < env <
     * -o) and checked by the host (durations in nanoseconds, sizes in bytes). On success
     * sets *out (OWNED(plugin)) and returns LR_OK; otherwise frees whatever it made, writes
     * the reason into err and returns LR_FATAL (destroy is not called then). Nothing is
     * recorded yet: the run stops before it starts. */
    int32_t (*new_output)(const char *init_json, size_t len, lr_output **out, lr_msg *err);
    /* Once, before any write. api and host are BORROWED(host): keep them until destroy(). */
    int32_t (*start)(lr_output *o, const lr_host_api *api, lr_host *host, lr_msg *err);
    /* LR_OK: the batch is the plugin's (written or buffered) and counted as written.
     * LR_RETRY: a passing failure; the host calls write again with the same batch after
     *   *retry_after_ms (if the plugin set it >= 0, e.g. from Retry-After; it is -1 on entry)
     *   or its own backoff. msg holds the reason. Keep nothing of a batch answered LR_RETRY.
     * LR_FATAL: the output cannot go on; the host disables it for the rest of the run. */
    int32_t (*write)(lr_output *o, const lr_batch *batch, int64_t *retry_after_ms, lr_msg *msg);
    /* Writes out anything buffered, within timeout_ms. */
    int32_t (*flush)(lr_output *o, uint64_t timeout_ms, lr_msg *err);
    /* The last call but destroy: flush everything within timeout_ms. outcome_json is
     * BORROWED(call): {"passed":true,"reason":"completed","durationMs":1000,
     * "thresholds":[{"metric":"...","source":"...","passed":true}]}. */
    int32_t (*stop)(lr_output *o, const char *outcome_json, size_t len, uint64_t timeout_ms,
                    lr_msg *err);
    /* Frees the instance. Called once for every instance new_output created, also after a
     * failed start, after LR_FATAL, and when stop was never called; not for an output the
     * host abandoned at the stop deadline (the process is exiting). */
    void (*destroy)(lr_output *o);
} lr_plugin_api;

/* The one exported symbol. Returns the plugin's table (STATIC(plugin)), or NULL when the
 * plugin cannot serve a host of this major version. */
LR_EXPORT const lr_plugin_api *loadrun_plugin_v1(uint32_t host_abi_major, uint32_t host_abi_minor);

/* The layout, checked where it is compiled. The Rust declarations (loadrun_plugin_api::cabi)
 * assert the same numbers, and a test there checks that both lists match entry for entry:
 * change one side and the build or that test fails. Each line is
 * LR_LAYOUT(type, field, offset) or LR_SIZE(type, size), for 64-bit targets. */
#if !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define LR_STATIC_ASSERT(c, m) _Static_assert(c, m)
#elif defined(__cplusplus) && __cplusplus >= 201103L
#define LR_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define LR_CAT2(a, b) a##b
#define LR_CAT(a, b) LR_CAT2(a, b)
#define LR_STATIC_ASSERT(c, m) typedef char LR_CAT(lr_static_assert_, __LINE__)[(c) ? 1 : -1]
#endif
#define LR_SIZE(t, n) LR_STATIC_ASSERT(sizeof(t) == (n), "size of " #t)
#define LR_LAYOUT(t, f, n) LR_STATIC_ASSERT(offsetof(t, f) == (n), "offset of " #t "." #f)

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
LR_SIZE(lr_str, 16);
LR_LAYOUT(lr_str, ptr, 0);
LR_LAYOUT(lr_str, len, 8);
LR_SIZE(lr_kv, 32);
LR_LAYOUT(lr_kv, key, 0);
LR_LAYOUT(lr_kv, value, 16);
LR_SIZE(lr_submetric_def, 48);
LR_LAYOUT(lr_submetric_def, name, 0);
LR_LAYOUT(lr_submetric_def, suffix, 16);
LR_LAYOUT(lr_submetric_def, tags, 32);
LR_LAYOUT(lr_submetric_def, tags_len, 40);
LR_SIZE(lr_metric_def, 56);
LR_LAYOUT(lr_metric_def, id, 0);
LR_LAYOUT(lr_metric_def, metric_type, 4);
LR_LAYOUT(lr_metric_def, contains, 5);
LR_LAYOUT(lr_metric_def, _reserved, 6);
LR_LAYOUT(lr_metric_def, name, 8);
LR_LAYOUT(lr_metric_def, thresholds, 24);
LR_LAYOUT(lr_metric_def, thresholds_len, 32);
LR_LAYOUT(lr_metric_def, submetrics, 40);
LR_LAYOUT(lr_metric_def, submetrics_len, 48);
LR_SIZE(lr_series_def, 40);
LR_LAYOUT(lr_series_def, id, 0);
LR_LAYOUT(lr_series_def, metric, 4);
LR_LAYOUT(lr_series_def, tags, 8);
LR_LAYOUT(lr_series_def, tags_len, 16);
LR_LAYOUT(lr_series_def, metadata, 24);
LR_LAYOUT(lr_series_def, metadata_len, 32);
LR_SIZE(lr_sample, 24);
LR_LAYOUT(lr_sample, series, 0);
LR_LAYOUT(lr_sample, _reserved, 4);
LR_LAYOUT(lr_sample, time_ns, 8);
LR_LAYOUT(lr_sample, value, 16);
LR_SIZE(lr_batch, 48);
LR_LAYOUT(lr_batch, metrics, 0);
LR_LAYOUT(lr_batch, metrics_len, 8);
LR_LAYOUT(lr_batch, series, 16);
LR_LAYOUT(lr_batch, series_len, 24);
LR_LAYOUT(lr_batch, samples, 32);
LR_LAYOUT(lr_batch, samples_len, 40);
LR_SIZE(lr_msg, 24);
LR_LAYOUT(lr_msg, buf, 0);
LR_LAYOUT(lr_msg, cap, 8);
LR_LAYOUT(lr_msg, len, 16);
LR_SIZE(lr_host_api, 40);
LR_LAYOUT(lr_host_api, struct_size, 0);
LR_LAYOUT(lr_host_api, abi_minor, 4);
LR_LAYOUT(lr_host_api, log, 8);
LR_LAYOUT(lr_host_api, add_counter, 16);
LR_LAYOUT(lr_host_api, request_abort, 24);
LR_LAYOUT(lr_host_api, stop_time_left_ms, 32);
LR_SIZE(lr_plugin_api, 72);
LR_LAYOUT(lr_plugin_api, struct_size, 0);
LR_LAYOUT(lr_plugin_api, abi_major, 4);
LR_LAYOUT(lr_plugin_api, abi_minor, 8);
LR_LAYOUT(lr_plugin_api, _reserved, 12);
LR_LAYOUT(lr_plugin_api, info_json, 16);
LR_LAYOUT(lr_plugin_api, new_output, 24);
LR_LAYOUT(lr_plugin_api, start, 32);
LR_LAYOUT(lr_plugin_api, write, 40);
LR_LAYOUT(lr_plugin_api, flush, 48);
LR_LAYOUT(lr_plugin_api, stop, 56);
LR_LAYOUT(lr_plugin_api, destroy, 64);
#endif

#ifdef __cplusplus
}
#endif
#endif /* LOADRUN_PLUGIN_H */
