/*  =========================================================================
    judge_normalize.c - undo the tricks spammers use to slip past keyword
    filters, keeping a map back to the original bytes.

    Speed matters (the whole judge targets 500k messages/s per core), so the
    expensive work - utf8proc NFKC + case folding, OpenCC t2s, look-alike
    and numeral mapping, classification - is done ONCE per code point of the
    Basic Multilingual Plane when the normalizer is built, into a 64k-entry
    table. Per message we only decode UTF-8, look up, and emit. Code points
    beyond the BMP (mathematical letters, emoji) are rare and are mapped on
    the fly with the same function that fills the table.

    OpenCC converts whole strings with phrase segmentation; we convert one
    character at a time (its character dictionary) so that every output
    character still knows where it came from. For moderation this is what
    we want anyway: 薇信 and 微信 must look the same, context does not help.
    =========================================================================
*/
#include <opencc/opencc.h>
#include <utf8proc.h>

#include "judge_normalize.h"
#include "judge_util.h"

#define S_DEFAULT_T2S   "/usr/share/opencc/t2s.json"
#define S_MAX_OUT       24      //  most code points one input maps to

//  A mapped code point: cp in bits 0..20, class in bits 24..27.
#define S_PACK(cp, cls) ((uint32_t) (cp) | ((uint32_t) (cls) << 24))
#define S_CP(item)      ((item) & 0x1FFFFF)
#define S_CLS(item)     (((item) >> 24) & 0x0F)
//  A table entry is either one packed item, or (bit 31) a pool reference:
//  offset in bits 0..23, count in bits 24..30.
#define S_MULTI         0x80000000u

struct _judge_normalizer_t {
    uint32_t *table;            //  0x10000 entries
    uint32_t *pool;             //  items of multi-code-point entries
    size_t    pool_len;
    uint32_t *t2s;              //  only while building: Han cp -> simplified cp
};

typedef struct {
    uint32_t cp;
    uint32_t os, oe;            //  original byte span
    uint8_t  cls;
} s_unit_t;

//  --------------------------------------------------------------------------
//  Character knowledge

//  Chinese numerals that spammers use to spell phone and QQ numbers.
//  幺 is the "one" of spoken phone numbers. Returns -1 if not a numeral.
static int
s_numeral_value (uint32_t cp)
{
    switch (cp) {
        case 0x96F6: case 0x3007:                   return 0;   //  零 〇
        case 0x4E00: case 0x58F9: case 0x5E7A:      return 1;   //  一 壹 幺
        case 0x4E8C: case 0x8D30: case 0x4E24:      return 2;   //  二 贰 两
        case 0x4E09: case 0x53C1:                   return 3;   //  三 叁
        case 0x56DB: case 0x8086:                   return 4;   //  四 肆
        case 0x4E94: case 0x4F0D:                   return 5;   //  五 伍
        case 0x516D: case 0x9646:                   return 6;   //  六 陆
        case 0x4E03: case 0x67D2:                   return 7;   //  七 柒
        case 0x516B: case 0x634C:                   return 8;   //  八 捌
        case 0x4E5D: case 0x7396:                   return 9;   //  九 玖
        default:                                    return -1;
    }
}

static int
s_is_han (uint32_t cp)
{
    return (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF)
        || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x3FFFF);
}

//  Letters from other scripts that look like Latin ones (after case
//  folding, so lower case only). Cyrillic and Greek cover nearly all the
//  homoglyph tricks seen in chat.
static uint32_t
s_lookalike (uint32_t cp)
{
    switch (cp) {
        //  Cyrillic
        case 0x0430: return 'a';  case 0x0435: return 'e';  case 0x043E: return 'o';
        case 0x0440: return 'p';  case 0x0441: return 'c';  case 0x0445: return 'x';
        case 0x0443: return 'y';  case 0x0456: return 'i';  case 0x0458: return 'j';
        case 0x0455: return 's';  case 0x043A: return 'k';  case 0x043C: return 'm';
        case 0x043D: return 'h';  case 0x0442: return 't';  case 0x0432: return 'b';
        case 0x0501: return 'd';  case 0x051B: return 'q';  case 0x051D: return 'w';
        case 0x04BB: return 'h';  case 0x0457: return 'i';  case 0x0491: return 'r';
        case 0x0433: return 'r';  case 0x0437: return '3';  case 0x0434: return 'd';
        //  Greek
        case 0x03BF: return 'o';  case 0x03B1: return 'a';  case 0x03B5: return 'e';
        case 0x03B9: return 'i';  case 0x03BA: return 'k';  case 0x03BD: return 'v';
        case 0x03C1: return 'p';  case 0x03C4: return 't';  case 0x03C5: return 'u';
        case 0x03C7: return 'x';  case 0x03B7: return 'n';  case 0x03C9: return 'w';
        case 0x03B2: return 'b';  case 0x03B3: return 'y';  case 0x03C3: return 'o';
        //  Latin look-alikes outside ASCII that NFKC keeps
        case 0x0131: return 'i';  case 0x0251: return 'a';  case 0x0261: return 'g';
        case 0x01BF: return 'p';  case 0x0269: return 'i';  case 0x028B: return 'v';
        case 0x1D20: return 'v';  case 0x1D0F: return 'o';  case 0x0274: return 'n';
        default:     return 0;
    }
}

//  Dingbat circled digits have no compatibility decomposition, so NFKC
//  leaves them alone. Returns the number (0..20) or -1.
static int
s_dingbat_number (uint32_t cp)
{
    if (cp >= 0x2776 && cp <= 0x277F) return (int) (cp - 0x2776) + 1;     //  ❶..❿
    if (cp >= 0x2780 && cp <= 0x2789) return (int) (cp - 0x2780) + 1;     //  ➀..➉
    if (cp >= 0x278A && cp <= 0x2793) return (int) (cp - 0x278A) + 1;     //  ➊..➓
    if (cp >= 0x24EB && cp <= 0x24F4) return (int) (cp - 0x24EB) + 11;    //  ⓫..⓴
    if (cp >= 0x24F5 && cp <= 0x24FE) return (int) (cp - 0x24F5) + 1;     //  ⓵..⓾
    if (cp == 0x24FF || cp == 0x1F10B || cp == 0x1F10C) return 0;         //  ⓿ 🄋 🄌
    return -1;
}

//  Value of a decimal digit of any script: Unicode guarantees Nd digits
//  come in contiguous runs of ten starting at zero.
static int
s_digit_value (uint32_t cp)
{
    if (cp >= '0' && cp <= '9')
        return (int) (cp - '0');
    int back = 0;
    while (back < 60 && cp > (uint32_t) back
       &&  utf8proc_category ((utf8proc_int32_t) (cp - back - 1)) == UTF8PROC_CATEGORY_ND)
        back++;
    return back % 10;
}

//  Map and classify one code point that is already NFKC + case folded.
static uint32_t
s_classify (const judge_normalizer_t *self, uint32_t cp)
{
    uint32_t alike = s_lookalike (cp);
    if (alike)
        cp = alike;
    if (cp == 0x3002 || cp == 0xFF61 || cp == 0x30FB || cp == 0xFF0E)
        return S_PACK ('.', JUDGE_NC_PUNCT);        //  。 ｡ ・ ． are dots in URLs
    if (cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f')
        return S_PACK (' ', JUDGE_NC_SPACE);
    if (self->t2s && cp >= 0x3400 && cp <= 0xFFFF && self->t2s [cp - 0x3400])
        cp = self->t2s [cp - 0x3400];
    if (s_numeral_value (cp) >= 0)
        return S_PACK (cp, JUDGE_NC_NUMERAL);
    switch (utf8proc_category ((utf8proc_int32_t) cp)) {
        case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
        case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
            return S_PACK (cp, s_is_han (cp) ? JUDGE_NC_HAN : JUDGE_NC_LETTER);
        case UTF8PROC_CATEGORY_ND:
            return S_PACK ('0' + s_digit_value (cp), JUDGE_NC_DIGIT);
        case UTF8PROC_CATEGORY_NL:
            return S_PACK (cp, JUDGE_NC_LETTER);
        case UTF8PROC_CATEGORY_NO:
        case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC: case UTF8PROC_CATEGORY_SK:
        case UTF8PROC_CATEGORY_SO:
            return S_PACK (cp, JUDGE_NC_SYMBOL);
        case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
        case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
        case UTF8PROC_CATEGORY_PO:
            return S_PACK (cp, JUDGE_NC_PUNCT);
        case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
            return S_PACK (' ', JUDGE_NC_SPACE);
        default:
            //  Cc, Cf (zero-width, BOM, bidi controls), Mn, Me (variation
            //  selectors, keycap enclosures), unassigned, private use
            return S_PACK (0, JUDGE_NC_DROP);
    }
}

//  Map one source code point to up to S_MAX_OUT packed items.
static size_t
s_map_cp (const judge_normalizer_t *self, uint32_t cp, uint32_t *out)
{
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFD || cp > 0x10FFFF)
        return 0;
    int number = s_dingbat_number (cp);
    if (number >= 0) {
        size_t n = 0;
        if (number >= 10)
            out [n++] = S_PACK ('0' + number / 10, JUDGE_NC_DIGIT);
        out [n++] = S_PACK ('0' + number % 10, JUDGE_NC_DIGIT);
        return n;
    }
    if (cp >= 0x1F1E6 && cp <= 0x1F1FF) {       //  regional indicators 🇦..🇿
        out [0] = S_PACK ('a' + (cp - 0x1F1E6), JUDGE_NC_LETTER);
        return 1;
    }
    utf8proc_category_t cat = utf8proc_category ((utf8proc_int32_t) cp);
    if (cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_MN
    ||  cat == UTF8PROC_CATEGORY_ME || cat == UTF8PROC_CATEGORY_CN
    ||  cat == UTF8PROC_CATEGORY_CO || cat == UTF8PROC_CATEGORY_CS)
        return 0;

    utf8proc_int32_t buf [S_MAX_OUT];
    utf8proc_ssize_t n = utf8proc_decompose_char ((utf8proc_int32_t) cp, buf, S_MAX_OUT,
        UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_LUMP, NULL);
    if (n < 0 || n > S_MAX_OUT) {
        buf [0] = (utf8proc_int32_t) cp;
        n = 1;
    }
    n = utf8proc_normalize_utf32 (buf, n, UTF8PROC_COMPOSE | UTF8PROC_STABLE);
    if (n < 0) {
        buf [0] = (utf8proc_int32_t) cp;
        n = 1;
    }
    size_t nout = 0;
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        uint32_t item = s_classify (self, (uint32_t) buf [i]);
        if (S_CLS (item) != JUDGE_NC_DROP)
            out [nout++] = item;
    }
    return nout;
}

//  Ask OpenCC for the simplified form of every Han character of the BMP in
//  one call: characters separated by newlines, so no phrase spans two.
static int
s_load_t2s (judge_normalizer_t *self, const char *config, char *err, size_t errlen)
{
    opencc_t cc = opencc_open (config);
    if (cc == (opencc_t) -1)
        return judge_errf (err, errlen, "cannot open OpenCC config %s: %s",
                           config, opencc_error ());
    const uint32_t lo = 0x3400, hi = 0xFFFF;
    size_t cap = (hi - lo + 1) * 4 + 1, len = 0;
    char *in = (char *) judge_malloc (cap);
    for (uint32_t cp = lo; cp <= hi; cp++) {
        if (!s_is_han (cp))
            continue;
        len += judge_utf8_encode (cp, in + len);
        in [len++] = '\n';
    }
    in [len] = 0;
    char *outs = opencc_convert_utf8 (cc, in, len);
    free (in);
    if (!outs) {
        opencc_close (cc);
        return judge_errf (err, errlen, "OpenCC conversion failed: %s", opencc_error ());
    }
    self->t2s = (uint32_t *) judge_calloc (hi - lo + 1, sizeof (uint32_t));
    const unsigned char *p = (const unsigned char *) outs;
    size_t outlen = strlen (outs), pos = 0;
    for (uint32_t cp = lo; cp <= hi && pos < outlen; cp++) {
        if (!s_is_han (cp))
            continue;
        uint32_t first = 0, count = 0;
        while (pos < outlen && p [pos] != '\n') {
            uint32_t c;
            pos += judge_utf8_decode (p + pos, outlen - pos, &c);
            if (count++ == 0)
                first = c;
        }
        pos++;      //  the newline
        //  Only one-to-one mappings keep the offset map exact
        if (count == 1 && first != cp)
            self->t2s [cp - lo] = first;
    }
    opencc_convert_utf8_free (outs);
    opencc_close (cc);
    return 0;
}

judge_normalizer_t *
judge_normalizer_new (const char *opencc_config, char *err, size_t errlen)
{
    judge_normalizer_t *self = (judge_normalizer_t *) judge_calloc (1, sizeof (*self));
    if (!opencc_config)
        opencc_config = S_DEFAULT_T2S;
    if (*opencc_config && s_load_t2s (self, opencc_config, err, errlen)) {
        judge_normalizer_destroy (&self);
        return NULL;
    }
    self->table = (uint32_t *) judge_malloc (0x10000 * sizeof (uint32_t));
    size_t pool_cap = 1024;
    self->pool = (uint32_t *) judge_malloc (pool_cap * sizeof (uint32_t));
    for (uint32_t cp = 0; cp < 0x10000; cp++) {
        uint32_t out [S_MAX_OUT];
        size_t n = s_map_cp (self, cp, out);
        if (n == 0)
            self->table [cp] = S_PACK (0, JUDGE_NC_DROP);
        else
        if (n == 1)
            self->table [cp] = out [0];
        else {
            if (self->pool_len + n > pool_cap) {
                pool_cap *= 2;
                self->pool = (uint32_t *) judge_realloc (self->pool, pool_cap * sizeof (uint32_t));
            }
            self->table [cp] = S_MULTI | ((uint32_t) n << 24) | (uint32_t) self->pool_len;
            memcpy (self->pool + self->pool_len, out, n * sizeof (uint32_t));
            self->pool_len += n;
        }
    }
    //  Non-BMP characters are mapped at run time and may hit Han ext. B;
    //  they keep their traditional form, which is rare enough not to matter.
    free (self->t2s);
    self->t2s = NULL;
    return self;
}

void
judge_normalizer_destroy (judge_normalizer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    judge_normalizer_t *self = *self_p;
    free (self->table);
    free (self->pool);
    free (self->t2s);
    free (self);
    *self_p = NULL;
}

void
judge_norm_init (judge_norm_t *norm)
{
    memset (norm, 0, sizeof (*norm));
}

void
judge_norm_release (judge_norm_t *norm)
{
    free (norm->text);
    free (norm->start);
    free (norm->end);
    free (norm->light);
    free (norm->lstart);
    free (norm->lend);
    free (norm->units);
    memset (norm, 0, sizeof (*norm));
}

//  --------------------------------------------------------------------------
//  Per message

static void
s_reserve_units (judge_norm_t *norm, size_t need)
{
    if (need <= norm->units_cap)
        return;
    size_t cap = norm->units_cap ? norm->units_cap : 256;
    while (cap < need)
        cap *= 2;
    norm->units = judge_realloc (norm->units, cap * sizeof (s_unit_t));
    norm->units_cap = cap;
}

static void
s_reserve_text (char **text, uint32_t **start, uint32_t **end, size_t *capp, size_t need)
{
    if (need <= *capp)
        return;
    size_t cap = *capp ? *capp : 1024;
    while (cap < need)
        cap *= 2;
    *text = (char *) judge_realloc (*text, cap);
    *start = (uint32_t *) judge_realloc (*start, cap * sizeof (uint32_t));
    *end = (uint32_t *) judge_realloc (*end, cap * sizeof (uint32_t));
    *capp = cap;
}

//  Chinese numerals become digits only inside a numeric run: at least five
//  digits or numerals, separators allowed between them, at least one
//  numeral. Shorter runs (一起, 三个人, 一二三) stay text, so ordinary chat
//  never turns into phone numbers; a spelled-out phone or QQ number
//  (一三八一二三四五六七八) always has far more than five.
#define S_NUMERAL_RUN_MIN 5

static void
s_convert_numeral_runs (s_unit_t *u, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (u [i].cls != JUDGE_NC_DIGIT && u [i].cls != JUDGE_NC_NUMERAL) {
            i++;
            continue;
        }
        size_t count = 0, numerals = 0, last = i, k = i;
        for (; k < n; k++) {
            uint8_t c = u [k].cls;
            if (c == JUDGE_NC_DIGIT || c == JUDGE_NC_NUMERAL) {
                count++;
                numerals += c == JUDGE_NC_NUMERAL;
                last = k;
            }
            else
            if (c != JUDGE_NC_SPACE && c != JUDGE_NC_PUNCT && c != JUDGE_NC_SYMBOL)
                break;
        }
        if (numerals && count >= S_NUMERAL_RUN_MIN) {
            for (size_t j = i; j <= last; j++)
                if (u [j].cls == JUDGE_NC_NUMERAL) {
                    u [j].cp = '0' + (uint32_t) s_numeral_value (u [j].cp);
                    u [j].cls = JUDGE_NC_DIGIT;
                }
        }
        i = last + 1;
    }
}

//  1. Decode text and map every character into units (norm->units); returns
//  how many, and in *numerals how many of them are numerals.
static size_t
s_decode (const judge_normalizer_t *self, const unsigned char *s, size_t len, judge_norm_t *norm, size_t *numerals)
{
    s_reserve_units (norm, len + 16);
    s_unit_t *u = (s_unit_t *) norm->units;
    size_t nu = 0, pos = 0;
    *numerals = 0;
    while (pos < len) {
        uint32_t cp;
        size_t adv = s [pos] < 0x80 ? (cp = s [pos], 1)
                   : judge_utf8_decode (s + pos, len - pos, &cp);
        uint32_t entry, tmp [S_MAX_OUT];
        const uint32_t *items = &entry;
        size_t n;
        if (cp < 0x10000) {
            entry = self->table [cp];
            if (entry & S_MULTI) {
                items = self->pool + (entry & 0xFFFFFF);
                n = (entry >> 24) & 0x7F;
            }
            else
                n = S_CLS (entry) != JUDGE_NC_DROP;
        }
        else {
            n = s_map_cp (self, cp, tmp);
            items = tmp;
        }
        if (nu + n > norm->units_cap) {
            s_reserve_units (norm, nu + n + len - pos + 16);
            u = (s_unit_t *) norm->units;
        }
        for (size_t i = 0; i < n; i++) {
            u [nu].cp = S_CP (items [i]);
            u [nu].cls = (uint8_t) S_CLS (items [i]);
            u [nu].os = (uint32_t) pos;
            u [nu].oe = (uint32_t) (pos + adv);
            *numerals += u [nu].cls == JUDGE_NC_NUMERAL;
            nu++;
        }
        pos += adv;
    }
    return nu;
}

//  3. Both forms from the units: the light one without spaces and symbols,
//  the strict one without punctuation either and with non-ASCII repeats
//  collapsed, each byte with the span of the original it came from.
static void
s_emit (const s_unit_t *u, size_t nu, judge_norm_t *norm)
{
    s_reserve_text (&norm->text, &norm->start, &norm->end, &norm->text_cap, nu * 4 + 1);
    s_reserve_text (&norm->light, &norm->lstart, &norm->lend, &norm->light_cap, nu * 4 + 1);
    //  Local copies: stores through char pointers would otherwise make the
    //  compiler reload every array pointer after each byte written
    char *t = norm->text, *l = norm->light;
    uint32_t *ts = norm->start, *te = norm->end, *ls = norm->lstart, *le = norm->lend;
    size_t tl = 0, ll = 0, prev_at = 0, digits = 0, letters = 0;
    uint32_t prev_cp = 0;
    for (size_t i = 0; i < nu; i++) {
        uint8_t cls = u [i].cls;
        if (cls == JUDGE_NC_SPACE || cls == JUDGE_NC_SYMBOL)
            continue;
        char enc [4];
        size_t el = judge_utf8_encode (u [i].cp, enc);
        const uint32_t os = u [i].os, oe = u [i].oe;
        for (size_t b = 0; b < el; b++) {
            l [ll] = enc [b];
            ls [ll] = os;
            le [ll] = oe;
            ll++;
        }
        if (cls == JUDGE_NC_PUNCT)
            continue;
        //  Collapse repeats of non-ASCII characters only: "加加加" is padding,
        //  but ASCII repeats are part of IDs ("xxddd7"), digits of numbers
        if (tl && u [i].cp == prev_cp && u [i].cp >= 0x80) {
            //  A repeat: the character already emitted now covers this one too
            for (size_t b = prev_at; b < tl; b++)
                te [b] = oe;
            continue;
        }
        prev_at = tl;
        prev_cp = u [i].cp;
        digits += cls == JUDGE_NC_DIGIT;
        letters += u [i].cp < 0x80 && cls == JUDGE_NC_LETTER;
        for (size_t b = 0; b < el; b++) {
            t [tl] = enc [b];
            ts [tl] = os;
            te [tl] = oe;
            tl++;
        }
    }
    t [tl] = 0;
    l [ll] = 0;
    norm->len = tl;
    norm->light_len = ll;
    norm->digits = digits;
    norm->letters = letters;
}

void
judge_normalizer_run (const judge_normalizer_t *self, const char *text, size_t len,
                      judge_norm_t *norm)
{
    if (!text)
        len = 0;
    size_t numerals;
    size_t nu = s_decode (self, (const unsigned char *) text, len, norm, &numerals);
    s_unit_t *u = (s_unit_t *) norm->units;
    //  2. Numerals inside numeric runs become digits
    if (numerals)
        s_convert_numeral_runs (u, nu);
    s_emit (u, nu, norm);
}

void
judge_norm_span (const judge_norm_t *norm, size_t s, size_t e, size_t *os, size_t *oe)
{
    if (s >= norm->len || e <= s) {
        *os = *oe = norm->len ? norm->end [norm->len - 1] : 0;
        return;
    }
    if (e > norm->len)
        e = norm->len;
    *os = norm->start [s];
    *oe = norm->end [e - 1];
}

void
judge_norm_light_span (const judge_norm_t *norm, size_t s, size_t e, size_t *os, size_t *oe)
{
    if (s >= norm->light_len || e <= s) {
        *os = *oe = norm->light_len ? norm->lend [norm->light_len - 1] : 0;
        return;
    }
    if (e > norm->light_len)
        e = norm->light_len;
    *os = norm->lstart [s];
    *oe = norm->lend [e - 1];
}

char *
judge_normalizer_strdup (const judge_normalizer_t *self, const char *text)
{
    judge_norm_t norm;
    judge_norm_init (&norm);
    judge_normalizer_run (self, text, strlen (text), &norm);
    char *copy = judge_strndup (norm.text, norm.len);
    judge_norm_release (&norm);
    return copy;
}
