/*  =========================================================================
    judge_util.h - small internal helpers shared by the judge's files:
    allocation that aborts on out-of-memory, UTF-8 decoding and encoding,
    error formatting.
    =========================================================================
*/
#ifndef QY_JUDGE_UTIL_H_INCLUDED
#define QY_JUDGE_UTIL_H_INCLUDED

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Out of memory is not a condition the judge can recover from: abort so
//  that callers never test for NULL (Redis does the same in zmalloc).
static inline void *
judge_malloc (size_t size)
{
    void *p = malloc (size ? size : 1);
    if (!p) {
        fprintf (stderr, "judge: out of memory allocating %zu bytes\n", size);
        abort ();
    }
    return p;
}

static inline void *
judge_calloc (size_t n, size_t size)
{
    void *p = calloc (n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf (stderr, "judge: out of memory allocating %zu x %zu bytes\n", n, size);
        abort ();
    }
    return p;
}

static inline void *
judge_realloc (void *old, size_t size)
{
    void *p = realloc (old, size ? size : 1);
    if (!p) {
        fprintf (stderr, "judge: out of memory reallocating %zu bytes\n", size);
        abort ();
    }
    return p;
}

static inline char *
judge_strdup (const char *s)
{
    size_t len = strlen (s);
    char *p = (char *) judge_malloc (len + 1);
    memcpy (p, s, len + 1);
    return p;
}

static inline char *
judge_strndup (const char *s, size_t len)
{
    char *p = (char *) judge_malloc (len + 1);
    memcpy (p, s, len);
    p [len] = 0;
    return p;
}

//  Write a formatted message into err (if any). Always returns -1 so an
//  error path can be one statement.
static inline int
judge_errf (char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (err, errlen, fmt, ap);
        va_end (ap);
    }
    return -1;
}

//  Index of name in names [0, n), or n when it is not there (or NULL):
//  every name table of the judge (categories, rule kinds, models) is
//  looked up this way.
static inline int
judge_name_find (const char *const *names, int n, const char *name)
{
    int i = 0;
    while (i < n && !(name && strcmp (name, names [i]) == 0))
        i++;
    return i;
}

//  Decode one UTF-8 code point from s[0..len). Returns the number of bytes
//  consumed (>= 1) and stores the code point, or 0xFFFD for a malformed
//  sequence (consuming one byte, so decoding always makes progress).
static inline size_t
judge_utf8_decode (const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s [0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF && len >= 2 && (s [1] & 0xC0) == 0x80) {
        *cp = ((uint32_t) (c & 0x1F) << 6) | (s [1] & 0x3F);
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF && len >= 3
    &&  (s [1] & 0xC0) == 0x80 && (s [2] & 0xC0) == 0x80) {
        uint32_t v = ((uint32_t) (c & 0x0F) << 12) | ((uint32_t) (s [1] & 0x3F) << 6)
                   | (s [2] & 0x3F);
        if (v >= 0x800 && (v < 0xD800 || v > 0xDFFF)) {
            *cp = v;
            return 3;
        }
    }
    if (c >= 0xF0 && c <= 0xF4 && len >= 4 && (s [1] & 0xC0) == 0x80
    &&  (s [2] & 0xC0) == 0x80 && (s [3] & 0xC0) == 0x80) {
        uint32_t v = ((uint32_t) (c & 0x07) << 18) | ((uint32_t) (s [1] & 0x3F) << 12)
                   | ((uint32_t) (s [2] & 0x3F) << 6) | (s [3] & 0x3F);
        if (v >= 0x10000 && v <= 0x10FFFF) {
            *cp = v;
            return 4;
        }
    }
    *cp = 0xFFFD;
    return 1;
}

//  Encode cp into out (room for 4 bytes). Returns the byte count.
static inline size_t
judge_utf8_encode (uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out [0] = (char) cp;
        return 1;
    }
    if (cp < 0x800) {
        out [0] = (char) (0xC0 | (cp >> 6));
        out [1] = (char) (0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out [0] = (char) (0xE0 | (cp >> 12));
        out [1] = (char) (0x80 | ((cp >> 6) & 0x3F));
        out [2] = (char) (0x80 | (cp & 0x3F));
        return 3;
    }
    out [0] = (char) (0xF0 | (cp >> 18));
    out [1] = (char) (0x80 | ((cp >> 12) & 0x3F));
    out [2] = (char) (0x80 | ((cp >> 6) & 0x3F));
    out [3] = (char) (0x80 | (cp & 0x3F));
    return 4;
}

#endif
