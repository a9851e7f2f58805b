/* json.h - just enough JSON reading for a plugin's init document.
 *
 * The host sends well-formed JSON; these functions still never read past `end` and return
 * NULL / -1 on anything unexpected, so a bad document is an error, not a crash. */
#ifndef OUT_LINES_JSON_H
#define OUT_LINES_JSON_H

#include <stddef.h>
#include <stdint.h>

/* The value of `key` in the object starting at `p` (leading whitespace allowed), or NULL. */
const char *json_get(const char *p, const char *end, const char *key);

/* The string at `p`, unescaped, NUL-terminated, malloc'd (the caller frees it); NULL if `p`
 * is not a string or memory ran out. */
char *json_string(const char *p, const char *end);

/* The unsigned integer at `p` into *out; 0 on success, -1 if it is not one. */
int json_u64(const char *p, const char *end, uint64_t *out);

#endif
