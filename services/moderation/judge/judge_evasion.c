/*  =========================================================================
    judge_evasion.c - the evasion rewriter (see judge_evasion.h).

    Each message gets its own mix of tricks, drawn from the seeded random
    generator: a style for letters, a style for digit runs, and per-gap
    probabilities of zero-width characters, separators or emoji. This is
    how real evasive ads look (加Ｖ：❶❸❽ ①②③④ ⑤⑥⑦⑧, ｗ·ｘ, 薇 信), and
    every trick is one the normalizer claims to undo.
    =========================================================================
*/
#include <opencc/opencc.h>

#include "judge_evasion.h"
#include "judge_util.h"

struct _judge_evader_t {
    uint64_t rng;
    opencc_t s2t;
    char    *buf;
    size_t   cap;
};

static uint64_t
s_next (judge_evader_t *self)
{
    uint64_t x = (self->rng += 0x9E3779B97F4A7C15ull);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

//  Uniform in [0, n)
static unsigned
s_pick (judge_evader_t *self, unsigned n)
{
    return (unsigned) (s_next (self) % n);
}

//  True with probability percent / 100
static int
s_chance (judge_evader_t *self, unsigned percent)
{
    return s_pick (self, 100) < percent;
}

judge_evader_t *
judge_evader_new (uint64_t seed, const char *s2t_config, char *err, size_t errlen)
{
    judge_evader_t *self = (judge_evader_t *) judge_calloc (1, sizeof (*self));
    self->rng = seed;
    self->s2t = (opencc_t) -1;
    if (!s2t_config)
        s2t_config = "/usr/share/opencc/s2t.json";
    if (*s2t_config) {
        self->s2t = opencc_open (s2t_config);
        if (self->s2t == (opencc_t) -1) {
            judge_errf (err, errlen, "cannot open OpenCC config %s", s2t_config);
            free (self);
            return NULL;
        }
    }
    return self;
}

void
judge_evader_destroy (judge_evader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    judge_evader_t *self = *self_p;
    if (self->s2t != (opencc_t) -1)
        opencc_close (self->s2t);
    free (self->buf);
    free (self);
    *self_p = NULL;
}

static void
s_emit (judge_evader_t *self, size_t *len, uint32_t cp)
{
    if (*len + 8 > self->cap) {
        self->cap = self->cap ? self->cap * 2 : 1024;
        self->buf = (char *) judge_realloc (self->buf, self->cap);
    }
    *len += judge_utf8_encode (cp, self->buf + *len);
}

enum { S_LETTER_PLAIN, S_LETTER_FULLWIDTH, S_LETTER_BOLD, S_LETTER_CIRCLED,
       S_LETTER_LOOKALIKE, S_LETTER_STYLES };
enum { S_DIGIT_PLAIN, S_DIGIT_FULLWIDTH, S_DIGIT_CIRCLED, S_DIGIT_DINGBAT,
       S_DIGIT_CHINESE, S_DIGIT_CAPITAL, S_DIGIT_STYLES };

static uint32_t
s_letter (judge_evader_t *self, uint32_t c, int style)
{
    uint32_t lower = c | 0x20;
    switch (style) {
        case S_LETTER_FULLWIDTH:
            return (s_chance (self, 50) ? lower - 'a' + 'A' : lower) - 0x21 + 0xFF01;
        case S_LETTER_BOLD:
            return 0x1D41A + (lower - 'a');         //  𝐚
        case S_LETTER_CIRCLED:
            return 0x24D0 + (lower - 'a');          //  ⓐ
        case S_LETTER_LOOKALIKE:
            switch (lower) {
                case 'a': return 0x0430;  case 'e': return 0x0435;  case 'o': return 0x043E;
                case 'p': return 0x0440;  case 'c': return 0x0441;  case 'x': return 0x0445;
                case 'y': return 0x0443;  case 'v': return 0x03BD;  case 'i': return 0x0456;
                default:  return s_chance (self, 50) ? lower - 'a' + 'A' : lower;
            }
        default:
            return s_chance (self, 30) ? lower - 'a' + 'A' : lower;
    }
}

static uint32_t
s_digit (uint32_t d, int style)
{
    static const uint32_t chinese [10] = {
        0x96F6, 0x4E00, 0x4E8C, 0x4E09, 0x56DB, 0x4E94, 0x516D, 0x4E03, 0x516B, 0x4E5D };
    static const uint32_t capital [10] = {
        0x96F6, 0x58F9, 0x8D30, 0x53C1, 0x8086, 0x4F0D, 0x9646, 0x67D2, 0x634C, 0x7396 };
    switch (style) {
        case S_DIGIT_FULLWIDTH: return 0xFF10 + d;
        case S_DIGIT_CIRCLED:   return d ? 0x2460 + d - 1 : 0x24EA;
        case S_DIGIT_DINGBAT:   return d ? 0x2776 + d - 1 : 0x24FF;
        case S_DIGIT_CHINESE:   return chinese [d];
        case S_DIGIT_CAPITAL:   return capital [d];
        default:                return '0' + d;
    }
}

static const uint32_t s_zero_width [] = { 0x200B, 0x200C, 0x200D, 0xFEFF, 0x2060 };
static const uint32_t s_separators [] = {
    ' ', '.', '*', '~', '-', '|', 0x00B7, 0x3000, 0x2605, 0x2764, 0x1F600, 0x1F525, 0x1F4B0 };

const char *
judge_evader_rewrite (judge_evader_t *self, const char *text, size_t len, size_t *len_p)
{
    char *converted = NULL;
    if (self->s2t != (opencc_t) -1 && len && s_chance (self, 50)) {
        converted = opencc_convert_utf8 (self->s2t, text, len);
        if (converted) {
            text = converted;
            len = strlen (converted);
        }
    }
    int letter_style = (int) s_pick (self, S_LETTER_STYLES);
    int digit_style = (int) s_pick (self, S_DIGIT_STYLES);
    unsigned zw_pct = s_chance (self, 50) ? 15 : 0;
    unsigned sep_pct = s_chance (self, 50) ? 20 : 0;
    unsigned rep_pct = s_chance (self, 30) ? 8 : 0;
    uint32_t sep = s_separators [s_pick (self, sizeof (s_separators) / sizeof (*s_separators))];

    size_t out = 0, pos = 0;
    const unsigned char *s = (const unsigned char *) text;
    while (pos < len) {
        uint32_t cp;
        pos += judge_utf8_decode (s + pos, len - pos, &cp);
        if (out && zw_pct && s_chance (self, zw_pct))
            s_emit (self, &out, s_zero_width [s_pick (self, 5)]);
        if (out && sep_pct && s_chance (self, sep_pct))
            s_emit (self, &out, sep);
        uint32_t mapped = cp;
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
            mapped = s_letter (self, cp, letter_style);
        else
        if (cp >= '0' && cp <= '9')
            mapped = s_digit (cp - '0', digit_style);
        s_emit (self, &out, mapped);
        if (rep_pct && !(cp >= '0' && cp <= '9') && cp > ' ' && s_chance (self, rep_pct))
            s_emit (self, &out, mapped);
    }
    if (converted)
        opencc_convert_utf8_free (converted);
    s_emit (self, &out, 0);
    if (len_p)
        *len_p = out - 1;
    return self->buf ? self->buf : "";
}
