/* json.c - see json.h. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Past the string starting at `p` (at its opening quote), or NULL. */
static const char *skip_string(const char *p, const char *end) {
    if (p >= end || *p != '"') return NULL;
    for (p++; p < end; p++) {
        if (*p == '\\') {
            p++;
            continue;
        }
        if (*p == '"') return p + 1;
    }
    return NULL;
}

/* Past the value starting at `p`, or NULL. Nesting is bounded to keep the stack small. */
static const char *skip_value(const char *p, const char *end, int depth) {
    p = skip_ws(p, end);
    if (p >= end || depth > 64) return NULL;
    if (*p == '"') return skip_string(p, end);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = skip_ws(p + 1, end);
        if (p < end && *p == close) return p + 1;
        for (;;) {
            if (close == '}') {
                p = skip_string(skip_ws(p, end), end);
                if (p == NULL) return NULL;
                p = skip_ws(p, end);
                if (p >= end || *p != ':') return NULL;
                p++;
            }
            p = skip_value(p, end, depth + 1);
            if (p == NULL) return NULL;
            p = skip_ws(p, end);
            if (p >= end) return NULL;
            if (*p == close) return p + 1;
            if (*p != ',') return NULL;
            p++;
        }
    }
    /* A number, true, false or null. */
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n') p++;
    return p;
}

const char *json_get(const char *p, const char *end, const char *key) {
    size_t key_len = strlen(key);
    p = skip_ws(p, end);
    if (p >= end || *p != '{') return NULL;
    p = skip_ws(p + 1, end);
    while (p < end && *p == '"') {
        const char *k = p + 1;
        const char *after = skip_string(p, end);
        if (after == NULL) return NULL;
        /* Keys the host writes need no escapes: compare the raw text. */
        int match = (size_t)(after - 1 - k) == key_len && memcmp(k, key, key_len) == 0;
        p = skip_ws(after, end);
        if (p >= end || *p != ':') return NULL;
        p = skip_ws(p + 1, end);
        if (match) return p;
        p = skip_value(p, end, 0);
        if (p == NULL) return NULL;
        p = skip_ws(p, end);
        if (p < end && *p == ',') p = skip_ws(p + 1, end);
    }
    return NULL;
}

static int hex4(const char *p, const char *end, unsigned *out) {
    unsigned v = 0;
    if (end - p < 4) return -1;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static size_t utf8(unsigned cp, char *out) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

char *json_string(const char *p, const char *end) {
    const char *stop = skip_string(p, end);
    if (stop == NULL) return NULL;
    /* Unescaped text is never longer than the escaped text. */
    char *out = malloc((size_t)(stop - p));
    if (out == NULL) return NULL;
    size_t n = 0;
    for (p++; p < stop - 1; p++) {
        if (*p != '\\') {
            out[n++] = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'r': out[n++] = '\r'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(p + 1, stop, &cp) != 0) { free(out); return NULL; }
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && stop - p > 6 && p[1] == '\\' && p[2] == 'u' &&
                hex4(p + 3, stop, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            n += utf8(cp, out + n);
            break;
        }
        default: out[n++] = *p; break; /* \" \\ \/ */
        }
    }
    out[n] = '\0';
    return out;
}

int json_u64(const char *p, const char *end, uint64_t *out) {
    uint64_t v = 0;
    const char *start = p;
    while (p < end && *p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
        p++;
    }
    if (p == start) return -1;
    *out = v;
    return 0;
}
