//  qyctl's text helpers: pure functions on strings and numbers (no I/O),
//  in qyctl_lib so that unit tests link them (tests/unit/test_qyctl_text.c).
#ifndef QYCTL_TEXT_H
#define QYCTL_TEXT_H
#include <stddef.h>
#include <stdint.h>

//  Display width in terminal cells (utf8proc_charwidth: CJK 2, combining
//  marks 0); a byte that is not UTF-8 counts one cell.
int qyctl_width (const char *s);
//  A sparkline of n values, one of ▁▂▃▄▅▆▇█ each, scaled to the largest
//  (all zero: all ▁). Writes at most size bytes into buf, NUL-ended (3 bytes
//  a value). Returns buf.
char *qyctl_sparkline (const int64_t *v, size_t n, char *buf, size_t size);
//  A progress line: "what: done/total (p%)  rate/s  N s left" (without a
//  total: "what: done  rate/s"), from the seconds elapsed. Returns buf.
char *qyctl_progress_line (char *buf, size_t size, const char *what, long done, long total, double elapsed_s);
#endif
