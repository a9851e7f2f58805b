/* out_lines.c - a loadrun output plugin in C: writes every sample as one line of text.
 *
 *   loadrun --plugin ./libout_lines.so -o lines=samples.txt
 *   loadrun --plugin ./libout_lines.so -o lines=file=samples.txt,bufferSize=1MiB
 *
 * Each line is `metric value time_ns [tag=value,...]`, with `\`, space, `,`, `=` and line
 * breaks escaped by a backslash. The host checks the declared options (INFO_JSON) before this
 * code sees them; here they arrive as typed JSON in "options". */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <loadrun_plugin.h>

#include "json.h"

/* What the plugin is and declares: the options are checked by the host, with the plan file's
 * line numbers, k6-style environment variables and "did you mean" hints. */
static const char INFO_JSON[] =
    "{\"format\":1,\"plugin\":\"out_lines\",\"version\":\"0.1.0\",\"outputs\":[{"
    "\"name\":\"lines\",\"aliases\":[\"c-lines\"],"
    "\"description\":\"writes every sample as a line of text to a file (the C plugin template)\","
    "\"positional\":{\"value\":\"file\"},"
    "\"options\":["
    "{\"name\":\"file\",\"kind\":{\"type\":\"string\"},\"aliases\":[\"fileName\"],"
    "\"env\":[\"LOADRUN_LINES_FILE\"],\"default\":\"loadrun-lines.txt\","
    "\"doc\":\"the file to write; emptied when the output starts\"},"
    "{\"name\":\"bufferSize\",\"kind\":{\"type\":\"size\"},\"default\":\"64KiB\",\"nonzero\":true,"
    "\"doc\":\"bytes collected before they are written to the file\"}"
    "]}]}";

/* Ids are small and dense (the host numbers definitions from 0); one beyond this is ignored. */
#define MAX_ID (1u << 24)

typedef struct {
    char *prefix; /* the escaped metric name; NULL while undefined */
    char *suffix; /* " k=v,..." or "" */
} series_entry;

struct lr_output {
    int fd;
    char *path;
    const lr_host_api *api; /* BORROWED(host) from start to destroy */
    lr_host *host;
    char *buf; /* lines not yet written to the file */
    size_t len, cap, limit;
    uint64_t pending; /* samples in buf: what is lost if writing them fails */
    char **metrics;   /* escaped names by metric id */
    size_t metrics_cap;
    series_entry *series;
    size_t series_cap;
};

static int reserve(char **buf, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? *cap : 4096;
    while (cap2 < need) cap2 *= 2;
    char *b = realloc(*buf, cap2);
    if (b == NULL) return -1;
    *buf = b;
    *cap = cap2;
    return 0;
}

/* `s` (len bytes) with `\`, space, `,`, `=` and line breaks escaped, NUL-terminated, appended
 * at *len. */
static int put_escaped(char **buf, size_t *cap, size_t *len, const char *s, size_t n) {
    if (reserve(buf, cap, *len + 2 * n + 1) != 0) return -1;
    char *o = *buf + *len;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\n') { *o++ = '\\'; *o++ = 'n'; continue; }
        if (c == '\r') { *o++ = '\\'; *o++ = 'r'; continue; }
        if (c == '\\' || c == ' ' || c == ',' || c == '=') *o++ = '\\';
        *o++ = c;
    }
    *o = '\0';
    *len = (size_t)(o - *buf);
    return 0;
}

static char *escaped(lr_str s) {
    char *buf = NULL;
    size_t cap = 0, len = 0;
    if (put_escaped(&buf, &cap, &len, s.ptr, s.len) != 0) { free(buf); return NULL; }
    if (buf == NULL) buf = calloc(1, 1);
    return buf;
}

static void say(lr_output *o, int32_t level, const char *text) {
    if (o->api != NULL) o->api->log(o->host, level, text, strlen(text));
}

static void count(lr_output *o, const char *counter, uint64_t n) {
    if (o->api != NULL && n > 0) o->api->add_counter(o->host, counter, strlen(counter), n);
}

/* Writes out the buffer. On failure the samples in it are reported lost and dropped, and
 * err says why. */
static int32_t write_out(lr_output *o, lr_msg *err) {
    size_t done = 0;
    while (done < o->len) {
        ssize_t n = write(o->fd, o->buf + done, o->len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            char text[512];
            snprintf(text, sizeof text, "lines: writing %s: %s", o->path,
                     n < 0 ? strerror(errno) : "nothing written");
            count(o, LR_COUNTER_SAMPLES_LOST, o->pending);
            o->len = 0;
            o->pending = 0;
            return lr_msg_set(err, text, LR_FATAL);
        }
        done += (size_t)n;
    }
    o->len = 0;
    o->pending = 0;
    return LR_OK;
}

static int32_t lines_new_output(const char *init, size_t len, lr_output **out, lr_msg *err) {
    const char *end = init + len;
    const char *options = json_get(init, end, "options");
    const char *file = options ? json_get(options, end, "file") : NULL;
    const char *size = options ? json_get(options, end, "bufferSize") : NULL;
    uint64_t limit = 64 * 1024;
    if (size != NULL && (json_u64(size, end, &limit) != 0 || limit == 0))
        return lr_msg_set(err, "lines: bufferSize is not a size", LR_FATAL);
    lr_output *o = calloc(1, sizeof *o);
    if (o == NULL) return lr_msg_set(err, "lines: out of memory", LR_FATAL);
    o->fd = -1;
    o->limit = (size_t)limit;
    o->path = file ? json_string(file, end) : strdup("loadrun-lines.txt");
    if (o->path == NULL) {
        free(o);
        return lr_msg_set(err, "lines: the option file is not a string", LR_FATAL);
    }
    /* Opened here, not in start: a file that cannot be written stops the run before it
     * begins. */
    o->fd = open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o->fd < 0) {
        char text[512];
        snprintf(text, sizeof text, "lines: cannot open %s: %s", o->path, strerror(errno));
        free(o->path);
        free(o);
        return lr_msg_set(err, text, LR_FATAL);
    }
    *out = o;
    return LR_OK;
}

static int32_t lines_start(lr_output *o, const lr_host_api *api, lr_host *host, lr_msg *err) {
    (void)err;
    /* Every 1.x host has the 1.0 callbacks; a field added later would be checked against
     * api->struct_size first. */
    if (api != NULL && api->struct_size >= sizeof(lr_host_api)) {
        o->api = api;
        o->host = host;
    }
    char text[512];
    snprintf(text, sizeof text, "writing samples to %s", o->path);
    say(o, LR_LOG_DEBUG, text);
    return LR_OK;
}

static int grow(void **array, size_t *cap, size_t elem, uint32_t id) {
    if (id < *cap) return 0;
    size_t cap2 = *cap ? *cap : 64;
    while (cap2 <= id) cap2 *= 2;
    void *a = realloc(*array, cap2 * elem);
    if (a == NULL) return -1;
    memset((char *)a + *cap * elem, 0, (cap2 - *cap) * elem);
    *array = a;
    *cap = cap2;
    return 0;
}

/* Keeps what the batch defines; repeats are skipped (an id always means the same thing). */
static int absorb(lr_output *o, const lr_batch *b) {
    for (size_t i = 0; i < b->metrics_len; i++) {
        const lr_metric_def *m = &b->metrics[i];
        if (m->id >= MAX_ID) continue;
        if (grow((void **)&o->metrics, &o->metrics_cap, sizeof *o->metrics, m->id) != 0) return -1;
        if (o->metrics[m->id] == NULL && (o->metrics[m->id] = escaped(m->name)) == NULL) return -1;
    }
    for (size_t i = 0; i < b->series_len; i++) {
        const lr_series_def *s = &b->series[i];
        if (s->id >= MAX_ID || s->metric >= o->metrics_cap || o->metrics[s->metric] == NULL)
            continue;
        if (grow((void **)&o->series, &o->series_cap, sizeof *o->series, s->id) != 0) return -1;
        series_entry *e = &o->series[s->id];
        if (e->prefix != NULL) continue;
        char *suffix = NULL;
        size_t cap = 0, len = 0;
        if (reserve(&suffix, &cap, 1) != 0) return -1;
        suffix[0] = '\0';
        for (size_t t = 0; t < s->tags_len; t++) {
            const lr_kv *kv = &s->tags[t];
            if (reserve(&suffix, &cap, len + 2) != 0) { free(suffix); return -1; }
            suffix[len++] = t == 0 ? ' ' : ',';
            if (put_escaped(&suffix, &cap, &len, kv->key.ptr, kv->key.len) != 0 ||
                reserve(&suffix, &cap, len + 2) != 0) { free(suffix); return -1; }
            suffix[len++] = '=';
            if (put_escaped(&suffix, &cap, &len, kv->value.ptr, kv->value.len) != 0) {
                free(suffix);
                return -1;
            }
        }
        e->prefix = o->metrics[s->metric];
        e->suffix = suffix;
    }
    return 0;
}

static int32_t lines_write(lr_output *o, const lr_batch *b, int64_t *retry_after_ms, lr_msg *msg) {
    (void)retry_after_ms;
    if (o->fd < 0) return lr_msg_set(msg, "lines: write after stop", LR_FATAL);
    if (absorb(o, b) != 0) return lr_msg_set(msg, "lines: out of memory", LR_FATAL);
    uint64_t before = o->pending, unknown = 0;
    for (size_t i = 0; i < b->samples_len; i++) {
        const lr_sample *s = &b->samples[i];
        const series_entry *e = s->series < o->series_cap ? &o->series[s->series] : NULL;
        if (e == NULL || e->prefix == NULL) {
            unknown++; /* a series never defined: not storable, so rejected, not written */
            continue;
        }
        size_t need = strlen(e->prefix) + strlen(e->suffix) + 64;
        if (reserve(&o->buf, &o->cap, o->len + need) != 0) {
            /* This batch is dropped by the host; what earlier ones left here is lost. */
            count(o, LR_COUNTER_SAMPLES_LOST, before);
            o->len = 0;
            o->pending = 0;
            return lr_msg_set(msg, "lines: out of memory", LR_FATAL);
        }
        int n = snprintf(o->buf + o->len, o->cap - o->len, "%s %.17g %" PRId64 "%s\n", e->prefix,
                         s->value, s->time_ns, e->suffix);
        if (n > 0) o->len += (size_t)n;
        o->pending++;
    }
    count(o, LR_COUNTER_SAMPLES_REJECTED, unknown);
    if (o->len >= o->limit) {
        /* If this fails, only what earlier batches left is reported lost: the host counts
         * this batch as dropped when write answers LR_FATAL. */
        o->pending = before;
        if (write_out(o, msg) != LR_OK) return LR_FATAL;
    }
    return LR_OK;
}

static int32_t lines_flush(lr_output *o, uint64_t timeout_ms, lr_msg *err) {
    (void)timeout_ms; /* a local file: no request to cut short */
    if (o->fd < 0) return LR_OK;
    return write_out(o, err);
}

static int32_t lines_stop(lr_output *o, const char *outcome, size_t len, uint64_t timeout_ms,
                          lr_msg *err) {
    (void)outcome;
    (void)len;
    if (o->fd < 0) return lr_msg_set(err, "lines: stopped twice", LR_FATAL);
    int32_t rc = lines_flush(o, timeout_ms, err);
    if (close(o->fd) != 0 && rc == LR_OK) {
        char text[512];
        snprintf(text, sizeof text, "lines: closing %s: %s", o->path, strerror(errno));
        rc = lr_msg_set(err, text, LR_FATAL);
    }
    o->fd = -1;
    return rc;
}

static void lines_destroy(lr_output *o) {
    if (o == NULL) return;
    if (o->fd >= 0) close(o->fd);
    for (size_t i = 0; i < o->series_cap; i++) free(o->series[i].suffix);
    for (size_t i = 0; i < o->metrics_cap; i++) free(o->metrics[i]);
    free(o->series);
    free(o->metrics);
    free(o->buf);
    free(o->path);
    free(o);
}

static const lr_plugin_api API = {
    sizeof(lr_plugin_api), LR_ABI_MAJOR, LR_ABI_MINOR, 0, INFO_JSON,
    lines_new_output,      lines_start,  lines_write,  lines_flush, lines_stop, lines_destroy,
};

LR_EXPORT const lr_plugin_api *loadrun_plugin_v1(uint32_t host_abi_major, uint32_t host_abi_minor) {
    (void)host_abi_minor; /* this plugin uses 1.0 only */
    return host_abi_major == LR_ABI_MAJOR ? &API : NULL;
}
