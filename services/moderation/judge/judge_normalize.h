/*  =========================================================================
    judge_normalize.h - text normalization with an offset map back to the
    original bytes. Internal to the judge library (and its tests).

    Two forms are produced in one pass:
      strict  letters, digits and CJK only: NFKC, case folded, traditional ->
              simplified, look-alikes -> Latin, numerals -> digits (in
              numeric runs), repeats of non-ASCII characters collapsed. Keywords, regexes,
              the phone/QQ/WeChat detectors and the classifier see this.
      light   the same characters plus punctuation (dots kept, '。' -> '.'),
              nothing collapsed, spaces and symbols removed. URL detection
              needs the dots.
    =========================================================================
*/
#ifndef QY_JUDGE_NORMALIZE_H_INCLUDED
#define QY_JUDGE_NORMALIZE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct _judge_normalizer_t judge_normalizer_t;

//  Character classes after mapping.
enum {
    JUDGE_NC_DROP = 0,  //  zero-width, format, combining marks: removed everywhere
    JUDGE_NC_SPACE,     //  white space: removed
    JUDGE_NC_PUNCT,     //  punctuation: kept in the light form only
    JUDGE_NC_SYMBOL,    //  symbols and emoji: removed
    JUDGE_NC_LETTER,    //  letters other than Han
    JUDGE_NC_HAN,       //  CJK ideographs
    JUDGE_NC_DIGIT,     //  ASCII 0-9
    JUDGE_NC_NUMERAL    //  Chinese numeral (一, 贰, 〇 ...): a digit inside numeric runs
};

//  A normalized message. Owned by the caller, reused across calls so that
//  a steady state allocates nothing.
typedef struct {
    char     *text;         //  strict form, NUL-terminated
    size_t    len;
    uint32_t *start;        //  per byte of text: original span of its character
    uint32_t *end;
    char     *light;        //  light form, NUL-terminated
    size_t    light_len;
    uint32_t *lstart;
    uint32_t *lend;
    size_t    digits;       //  ASCII digits in the strict form
    size_t    letters;      //  ASCII letters in the strict form
    //  Private scratch
    void     *units;
    size_t    units_cap;
    size_t    text_cap;
    size_t    light_cap;
} judge_norm_t;

//  Create a normalizer. opencc_config NULL means the default t2s.json, ""
//  disables traditional -> simplified. Returns NULL and fills err on error.
judge_normalizer_t *judge_normalizer_new (const char *opencc_config, char *err, size_t errlen);
void judge_normalizer_destroy (judge_normalizer_t **self_p);

void judge_norm_init (judge_norm_t *norm);
void judge_norm_release (judge_norm_t *norm);

//  Normalize text[0..len) into norm.
void judge_normalizer_run (const judge_normalizer_t *self, const char *text, size_t len,
                           judge_norm_t *norm);

//  Map the strict span [s, e) to the original byte span [*os, *oe).
void judge_norm_span (const judge_norm_t *norm, size_t s, size_t e, size_t *os, size_t *oe);
//  Same for the light form.
void judge_norm_light_span (const judge_norm_t *norm, size_t s, size_t e,
                            size_t *os, size_t *oe);

//  Normalize a string and return a new heap copy of its strict form
//  (used to normalize keywords with the same pipeline). Caller frees.
char *judge_normalizer_strdup (const judge_normalizer_t *self, const char *text);

#endif
