//  qyctl's text helpers (qyctl_text.h).
#include "qyctl_text.h"
#include "qy/util.h"
#include <string.h>
#include <utf8proc.h>

int qyctl_width (const char *s)
{
    int w = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *) s;
    while (*p) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate (p, -1, &cp);
        if (n <= 0) {
            w++;
            p++;
            continue;
        }
        int cw = utf8proc_charwidth (cp);
        w += cw > 0 ? cw : 0;
        p += n;
    }
    return w;
}

char *qyctl_sparkline (const int64_t *v, size_t n, char *buf, size_t size)
{
    static const char *const bars [] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
    int64_t max = 0;
    for (size_t i = 0; i < n; i++)
        if (v [i] > max)
            max = v [i];
    size_t at = 0;
    if (size)
        buf [0] = 0;
    for (size_t i = 0; i < n && at + 4 <= size; i++) {
        //  0 is the lowest bar; any value above 0 at least the second, so
        //  a quiet day with one message is not drawn as silence.
        int k = max <= 0 || v [i] <= 0 ? 0 : 1 + (int) (v [i] * 6 / max);
        if (k > 7)
            k = 7;
        memcpy (buf + at, bars [k], 3);
        at += 3;
        buf [at] = 0;
    }
    return buf;
}

char *qyctl_progress_line (char *buf, size_t size, const char *what, long done, long total, double elapsed_s)
{
    double rate = elapsed_s > 0 ? done / elapsed_s : 0;
    if (total <= 0) {
        qy_snprintf (buf, size, "%s: %ld  %.0f/s", what, done, rate);
        return buf;
    }
    int pct = (int) (100.0 * done / total);
    if (rate > 0 && done < total)
        qy_snprintf (buf, size, "%s: %ld/%ld (%d%%)  %.0f/s  %.0f s left", what, done, total, pct, rate, (total - done) / rate);
    else
        qy_snprintf (buf, size, "%s: %ld/%ld (%d%%)  %.0f/s", what, done, total, pct, rate);
    return buf;
}
