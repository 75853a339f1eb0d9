/*  =========================================================================
    judge_contact.c - phone, QQ and WeChat-ID detectors.

    They run on the strict normalized form, where separators are gone and
    spelled-out numerals are digits, so 138-1234-5678, 1 3 8 1 2 3 4 5 6 7 8
    and 一三八一二三四五六七八 are all the digit run 13812345678.

    The hard part is false positives: ordinary chat in a brand's group is
    full of numbers (¥199, 2件8折, 满300减50, dates, order numbers, model
    numbers). So a number only counts when its digit run has exactly the
    shape of a phone number (whole maximal run, not part of a longer one),
    or - for QQ numbers and WeChat IDs - when a cue word stands right
    before it (扣扣, q, 企鹅, 群 / 微信, 薇, vx, wx ...).
    =========================================================================
*/
#include "judge_detect.h"
#include "judge_util.h"

static inline int
s_digit (char c)
{
    return c >= '0' && c <= '9';
}

static inline int
s_alnum (char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

//  Start of the UTF-8 character that ends just before pos (pos > 0).
static size_t
s_prev (const char *text, size_t pos)
{
    size_t p = pos - 1;
    while (p > 0 && ((unsigned char) text [p] & 0xC0) == 0x80)
        p--;
    return p;
}

static uint32_t
s_cp_at (const char *text, size_t len, size_t pos)
{
    uint32_t cp;
    judge_utf8_decode ((const unsigned char *) text + pos, len - pos, &cp);
    return cp;
}

//  Does the digit string d[0..len) match an allow-listed number? Entries
//  hold digits only; a match at the end of the run also counts, so that an
//  allowed "02112345678" exempts "+86 021 1234 5678".
static int
s_allowed (const char *d, size_t len, char *const *allow, size_t nallow)
{
    for (size_t i = 0; i < nallow; i++) {
        size_t al = strlen (allow [i]);
        if (al && al <= len && memcmp (d + len - al, allow [i], al) == 0)
            return 1;
    }
    return 0;
}

static int
s_is_mobile (const char *d, size_t len)
{
    if (len == 11 && d [0] == '1' && d [1] >= '3' && d [1] <= '9')
        return 1;
    if (len == 13 && d [0] == '8' && d [1] == '6' && d [2] == '1' && d [3] >= '3' && d [3] <= '9')
        return 1;
    return 0;
}

static int
s_is_landline (const char *d, size_t len)
{
    //  Area code (010, 021, 0755 ...) + 7 or 8 digits
    if (len >= 10 && len <= 12 && d [0] == '0' && d [1] != '0')
        return 1;
    //  400 / 800 service numbers
    if (len == 10 && (memcmp (d, "400", 3) == 0 || memcmp (d, "800", 3) == 0))
        return 1;
    return 0;
}

int
judge_detect_phone (const judge_norm_t *norm, char *const *allow, size_t nallow,
                    size_t *start, size_t *end)
{
    const char *t = norm->text;
    size_t len = norm->len, i = 0;
    while (i < len) {
        if (!s_digit (t [i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && s_digit (t [j]))
            j++;
        if ((s_is_mobile (t + i, j - i) || s_is_landline (t + i, j - i))
        &&  !s_allowed (t + i, j - i, allow, nallow)) {
            *start = i;
            *end = j;
            return 1;
        }
        i = j;
    }
    return 0;
}

//  Units that follow a quantity or price, never a QQ number.
static int
s_is_unit (uint32_t cp)
{
    switch (cp) {
        case 0x5143: case 0x5757: case 0x4E07: case 0x4EBF: case 0x94BB:  //  元 块 万 亿 钻
        case 0x91D1: case 0x94F6: case 0x4E2A: case 0x4EF6: case 0x5F20:  //  金 银 个 件 张
        case 0x6298: case 0x7C73: case 0x5206: case 0x79D2: case 0x7EA7:  //  折 米 分 秒 级
        case 0x5C81: case 0x4EBA: case 0x6B21: case 0x5E74: case 0x6708:  //  岁 人 次 年 月
        case 0x65E5: case 0x53F7: case 0x70B9: case 0x5468: case 0x5929:  //  日 号 点 周 天
        case 0x5428: case 0x65A4: case 0x514B: case 0x6BEB: case 0x5C0F:  //  吨 斤 克 毫 小
        case 0x7247: case 0x76D2: case 0x74F6: case 0x5305: case 0x6863:  //  片 盒 瓶 包 档
        case 'w': case 'r': case 'k': case 'm': case 'g': case 'y':
            return 1;
        default:
            return 0;
    }
}

//  Cue characters for QQ numbers: 扣(扣) q(q) 企鹅 群(号) 裙 (for 群) 球(球) 寇 叩 蔻 抠 Q.
static int
s_is_qq_cue (uint32_t cp)
{
    switch (cp) {
        case 'q': case 0x6263: case 0x9E45: case 0x7FA4: case 0x88D9: case 0x7403:
        case 0x5BC7: case 0x53E9: case 0x853B: case 0x62A0:
            return 1;
        default:
            return 0;
    }
}

int
judge_detect_qq (const judge_norm_t *norm, size_t *start, size_t *end)
{
    const char *t = norm->text;
    size_t len = norm->len, i = 0;
    while (i < len) {
        if (!s_digit (t [i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && s_digit (t [j]))
            j++;
        size_t n = j - i;
        //  QQ numbers have 5 to 11 digits and never start with 0
        if (n >= 5 && n <= 11 && t [i] != '0' && !s_is_mobile (t + i, n)
        &&  !(j < len && s_is_unit (s_cp_at (t, len, j))
              && !(t [j] >= 'a' && t [j] <= 'z' && j + 1 < len && t [j + 1] >= 'a'
                   && t [j + 1] <= 'z'))) {
            //  Letters glued before the number: only "q" / "qun" are cues;
            //  anything else ("cph931221001", "abc12345") is an ID or model
            size_t a = i;
            while (a > 0 && t [a - 1] >= 'a' && t [a - 1] <= 'z')
                a--;
            if (a < i) {
                if (t [i - 1] == 'q' || (i - a >= 3 && memcmp (t + i - 3, "qun", 3) == 0)) {
                    *start = t [i - 1] != 'q' ? i - 3 : i >= 2 && t [i - 2] == 'q' ? i - 2 : i - 1;
                    *end = j;
                    return 1;
                }
            }
            else {
                //  A Han cue among the three characters before the number
                size_t p = i;
                for (int back = 0; back < 3 && p > 0; back++) {
                    p = s_prev (t, p);
                    uint32_t cp = s_cp_at (t, len, p);
                    if (s_is_qq_cue (cp)) {
                        *start = p;
                        *end = j;
                        return 1;
                    }
                    if (cp < 0x80)
                        break;
                }
            }
        }
        i = j;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  WeChat IDs

//  Han cue words, as UTF-8, already in strict normalized form (collapsed,
//  simplified). Longer first.
typedef struct {
    const char *s;
    size_t      len;
} s_cue_t;
#define S_CUE(str) { str, sizeof (str) - 1 }

static const s_cue_t s_wechat_han_cues [] = {
    S_CUE ("微信"), S_CUE ("威信"), S_CUE ("薇信"), S_CUE ("徽信"), S_CUE ("维信"),
    S_CUE ("危信"), S_CUE ("卫信"), S_CUE ("v信"), S_CUE ("微"), S_CUE ("薇"), S_CUE ("威"),
    S_CUE ("徽"), S_CUE ("溦"), { NULL, 0 }
};
//  Fillers allowed between a cue and the ID: 号 是 为 搜 加
static int
s_is_filler (uint32_t cp)
{
    return cp == 0x53F7 || cp == 0x662F || cp == 0x4E3A || cp == 0x641C || cp == 0x52A0;
}

//  ASCII cue prefixes glued to the ID ("vx123456", "wxk6688").
static const s_cue_t s_wechat_ascii_cues [] = {
    S_CUE ("weixin"), S_CUE ("wechat"), S_CUE ("wei"), S_CUE ("vx"), S_CUE ("wx"), S_CUE ("v"),
    { NULL, 0 }
};

static size_t
s_count_digits (const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s_digit (s [i]);
    return n;
}

int
judge_detect_wechat (const judge_norm_t *norm, size_t *start, size_t *end)
{
    const char *t = norm->text;
    size_t len = norm->len, i = 0;
    while (i < len) {
        if (!s_alnum (t [i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && s_alnum (t [j]))
            j++;
        size_t n = j - i, digits = s_count_digits (t + i, n);

        //  A: Han cue before the token, fillers allowed
        if (n >= 5 && n <= 20 && (digits || n >= 6)) {
            size_t p = i;
            for (int fill = 0; fill < 2 && p > 0; fill++) {
                size_t q = s_prev (t, p);
                if (!s_is_filler (s_cp_at (t, len, q)))
                    break;
                p = q;
            }
            for (const s_cue_t *cue = s_wechat_han_cues; cue->s; cue++) {
                size_t cl = cue->len;
                if (p >= cl && memcmp (t + p - cl, cue->s, cl) == 0) {
                    *start = p - cl;
                    *end = j;
                    return 1;
                }
            }
        }
        //  B: ASCII cue glued to the front of the token
        for (const s_cue_t *cue = s_wechat_ascii_cues; cue->s; cue++) {
            size_t cl = cue->len;
            if (n < cl + 5 || memcmp (t + i, cue->s, cl) != 0)
                continue;
            const char *rest = t + i + cl;
            size_t rl = n - cl, rd = s_count_digits (rest, rl);
            if (rl <= 20 && (s_digit (rest [0]) ? rd >= 5 : rd >= 4)) {
                *start = i;
                *end = j;
                return 1;
            }
        }
        i = j;
    }
    return 0;
}
