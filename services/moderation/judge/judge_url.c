/*  =========================================================================
    judge_url.c - URL detector, including obfuscated domains.

    Runs on the light normalized form: letters, digits, CJK and punctuation,
    with spaces, symbols and emoji already removed, '。' and '．' mapped to
    '.', full-width and fancy letters mapped to ASCII. So "abc . com",
    "a b c.com", "abc。com" and "ａｂｃ．ｃｏｍ" all read "abc.com"; "点" is
    accepted as a dot here ("www点abc点com").

    A domain is: labels of [a-z0-9-] separated by dots, ending with a known
    top-level domain that is not followed by another letter (so "hello.
    coming" is not ".com"). Explicit schemes ("http:", "https:") and "www."
    always count, even when the rest is mangled. Allow-listed domains (and
    their subdomains) do not hit.
    =========================================================================
*/
#include "judge_detect.h"
#include "judge_util.h"

//  Top-level domains seen in spam plus the common ones. Short English words
//  (in, it, is, to, at, be, do, so, no, us) are left out on purpose: with
//  spaces removed, "go to.it" style text would otherwise match.
static const char *s_tlds [] = {
    "com", "net", "org", "cn", "top", "xyz", "vip", "cc", "io", "me", "info", "co", "club",
    "shop", "site", "online", "app", "tk", "ml", "ga", "cf", "gq", "icu", "fun", "ltd",
    "link", "live", "wang", "ink", "pw", "biz", "tv", "hk", "tw", "jp", "ru", "la", "ws",
    "win", "bid", "loan", "work", "store", "tech", "space", "website", "pro", "mobi",
    "asia", "name", "today", "world", "life", "cyou", "buzz", "rest", "bet", "casino",
    "games", "plus", "net", "gov", "edu", NULL
};

#define S_DIAN "\xe7\x82\xb9"       //  点

static inline int
s_label_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static inline int
s_letter (char c)
{
    return c >= 'a' && c <= 'z';
}

//  Length of a dot at t[i] ('.' or 点), 0 if none.
static inline size_t
s_dot (const char *t, size_t len, size_t i)
{
    if (t [i] == '.')
        return 1;
    if (i + 3 <= len && memcmp (t + i, S_DIAN, 3) == 0)
        return 3;
    return 0;
}

//  Length of a dot ending at t[i - 1], 0 if none.
static inline size_t
s_dot_before (const char *t, size_t i)
{
    if (i >= 1 && t [i - 1] == '.')
        return 1;
    if (i >= 3 && memcmp (t + i - 3, S_DIAN, 3) == 0)
        return 3;
    return 0;
}

static int
s_is_tld (const char *s, size_t len)
{
    for (const char **tld = s_tlds; *tld; tld++)
        if (strlen (*tld) == len && memcmp (*tld, s, len) == 0)
            return 1;
    return 0;
}

//  Is domain (dots as '.') an allowed domain or one of its subdomains?
static int
s_allowed (const char *domain, size_t dl, char *const *allow, size_t nallow)
{
    for (size_t i = 0; i < nallow; i++) {
        size_t al = strlen (allow [i]);
        if (al > dl)
            continue;
        if (memcmp (domain + dl - al, allow [i], al) == 0
        &&  (al == dl || domain [dl - al - 1] == '.'))
            return 1;
    }
    return 0;
}

//  Where a host that starts at t[from] ends: labels and dots (either form).
static size_t
s_host_end (const char *t, size_t len, size_t from)
{
    size_t k = from;
    while (k < len && (s_label_char (t [k]) || s_dot (t, len, k)))
        k += s_dot (t, len, k) ? s_dot (t, len, k) : 1;
    return k;
}

//  t[from..to) as a domain in domain[] (its dots as '.'), for the allow-list;
//  returns its length.
static size_t
s_domain (const char *t, size_t len, size_t from, size_t to, char domain [static 256])
{
    size_t dl = 0;
    for (size_t x = from; x < to && dl < 255; ) {
        size_t d = s_dot (t, len, x);
        domain [dl++] = d ? '.' : t [x];
        x += d ? d : 1;
    }
    return dl;
}

//  An explicit scheme at t[i] ("http:", "https:"): a URL whatever follows,
//  unless its host is allowed. Returns 1 with the span, else 0.
static int
s_scheme_url (const char *t, size_t len, size_t i, char *const *allow, size_t nallow, size_t *start, size_t *end)
{
    if (t [i] != 'h' || (i > 0 && s_letter (t [i - 1]))
    ||  !((i + 5 <= len && memcmp (t + i, "http:", 5) == 0) || (i + 6 <= len && memcmp (t + i, "https:", 6) == 0)))
        return 0;
    size_t j = i + (t [i + 4] == ':' ? 5 : 6);
    while (j < len && (t [j] == '/' || t [j] == '\\'))
        j++;
    size_t k = s_host_end (t, len, j);
    char domain [256];
    if (k > j && s_allowed (domain, s_domain (t, len, j, k, domain), allow, nallow))
        return 0;
    *start = i;
    *end = k > j ? k : j;
    return 1;
}

//  "www." at t[i - 3], its dot at t[i], followed by a label: a URL even
//  without a known TLD. Returns 1 with the span; 0 when the host is allowed,
//  with *next the index the scan goes on after; -1 when there is no such URL.
static int
s_www_url (const char *t, size_t len, size_t i, size_t dot, char *const *allow, size_t nallow, size_t *start,
           size_t *end, size_t *next)
{
    if (i < 3 || memcmp (t + i - 3, "www", 3) != 0 || (i > 3 && s_letter (t [i - 4]))
    ||  i + dot >= len || !s_label_char (t [i + dot]))
        return -1;
    size_t k = s_host_end (t, len, i + dot);
    char domain [256];
    size_t dl = s_domain (t, len, i - 3, k, domain);
    while (dl && domain [dl - 1] == '.')
        dl--;
    if (s_allowed (domain, dl, allow, nallow)) {
        *next = k - 1;
        return 0;
    }
    *start = i - 3;
    *end = k;
    return 1;
}

//  A known top-level domain after the dot at t[i], with labels before it.
//  Returns 1 with the span; 0 when the domain is allowed, with *next the
//  index the scan goes on after; -1 when there is no such domain.
static int
s_tld_url (const char *t, size_t len, size_t i, size_t dot, char *const *allow, size_t nallow, size_t *start,
           size_t *end, size_t *next)
{
    size_t a = i + dot, b = a;
    while (b < len && s_letter (t [b]))
        b++;
    if (b - a < 2 || b - a > 7 || !s_is_tld (t + a, b - a) || (b < len && s_label_char (t [b])))
        return -1;
    //  Labels before the dot
    size_t s = i, labels = 0, last_label = 0;
    while (s > 0) {
        size_t e = s;
        while (s > 0 && s_label_char (t [s - 1]))
            s--;
        if (s == e)
            break;
        if (labels++ == 0)
            last_label = e - s;
        size_t d = s_dot_before (t, s);
        if (!d || s < d + 1 || !s_label_char (t [s - d - 1]))
            break;
        s -= d;
    }
    if (!labels)
        return -1;
    //  The second-level label must look like a name: 2+ characters with a
    //  letter ("abc.com", "wqkj777.top") or 3+ digits ("4399.com"); this
    //  keeps "v1.0.cn"-like version strings and "3.cn" out.
    int has_letter = 0;
    for (size_t x = i - last_label; x < i; x++)
        has_letter |= s_letter (t [x]);
    if (last_label < 2 || (!has_letter && last_label < 3))
        return -1;
    char domain [256];
    if (s_allowed (domain, s_domain (t, len, s, b, domain), allow, nallow)) {
        *next = b - 1;
        return 0;
    }
    *start = s;
    *end = b;
    return 1;
}

int
judge_detect_url (const judge_norm_t *norm, char *const *allow, size_t nallow,
                  size_t *start, size_t *end)
{
    const char *t = norm->light;
    size_t len = norm->light_len;
    for (size_t i = 0; i < len; i++) {
        if (s_scheme_url (t, len, i, allow, nallow, start, end))
            return 1;
        size_t dot = s_dot (t, len, i);
        if (!dot)
            continue;
        size_t next = i;
        int hit = s_www_url (t, len, i, dot, allow, nallow, start, end, &next);
        if (hit < 0)
            hit = s_tld_url (t, len, i, dot, allow, nallow, start, end, &next);
        if (hit > 0)
            return 1;
        i = next;
    }
    return 0;
}
