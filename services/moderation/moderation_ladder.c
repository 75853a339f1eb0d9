//  The two ladders, pure: content violations (ads, contact poaching, porn,
//  gambling, fraud, abuse) climb the penalty ladder that ends in removal;
//  behaviour (flood, repeats, quiet hours, @all) gets a friendly reminder,
//  then a short slow-down, and never a removal on its own. What the review
//  queue holds, and the customer who is only waiting for an answer.
#include "moderation.h"
#include "qy/util.h"
#include <math.h>
#include <string.h>

moderation_kind_t moderation_kind (const char *category)
{
    //  Listed, not inferred: a category added later (a complaint) is not
    //  charged on the content ladder until someone decides it should be.
    static const char *const content [] = { "ad", "fraud", "gambling", "porn", "abuse", "spam_wave" };
    for (size_t i = 0; category && i < QY_ARRAY_LEN (content); i++)
        if (strcmp (category, content [i]) == 0)
            return MODERATION_CONTENT;
    return MODERATION_BEHAVIOUR;
}

const char *moderation_kind_name (moderation_kind_t kind)
{
    return kind == MODERATION_CONTENT ? "content" : "behaviour";
}

const char *moderation_behaviour_rule (const judge_result_t *r)
{
    const judge_hit_t *best = NULL;
    for (size_t i = 0; r && i < r->nhits; i++) {
        const judge_hit_t *h = &r->hits [i];
        if (h->dry_run || h->weight <= 0 || (h->category != QY_CAT_FLOOD && h->category != QY_CAT_FORMAT))
            continue;
        if (!best || h->weight > best->weight)
            best = h;
    }
    return best ? best->rule : NULL;
}

moderation_penalty_t moderation_ladder (const moderation_policy_t *p, moderation_kind_t kind, judge_action_t level,
                                        const moderation_history_t *h)
{
    //  A member who also posts ads is not a customer in a hurry: their
    //  flooding is charged as they are.
    bool linked = p->behaviour_link_days > 0 && h->content_recent;
    //  Strikes of the member's linked accounts (the same unionid or phone)
    //  count as theirs: abuse through several accounts is punished more.
    if (kind == MODERATION_CONTENT || linked || level < JUDGE_RECALL)
        return moderation_penalty (p, level, h->prior_strikes + h->linked_strikes);
    moderation_penalty_t pen = { QY__ACTION__WARN, false, false, 0, true, NULL };
    if (h->prior_behaviour < p->behaviour_reminders)
        return pen;                     //  a reminder: nothing recalled, nothing counted against them
    pen.recall = true;                  //  the excess is recalled, with a notice saying why and until when
    if (p->behaviour_slow_minutes > 0) {
        pen.action = QY__ACTION__MUTE;
        pen.mute_minutes = p->behaviour_slow_minutes;
    }
    return pen;
}

double moderation_review_priority (moderation_kind_t kind, Qy__Action action, double score, bool dry_run_only)
{
    //  Behaviour steps follow from counts a person cannot second-guess, and
    //  a dry-run row did nothing. A review was left in the group for want
    //  of certainty: it may be harmful content still visible, so it comes
    //  first at the same score; a removal, then a mute, weigh on a member
    //  wrongly punished. Warnings and recalls of confident content do not
    //  need a person.
    if (kind != MODERATION_CONTENT || dry_run_only)
        return NAN;
    switch (action) {
        case QY__ACTION__REVIEW: return score + 2.0;
        case QY__ACTION__BLOCK:  return score + 1.5;
        case QY__ACTION__MUTE:   return score + 1.0;
        default:                 return NAN;
    }
}

//  What the reminder or slow-down is about, in the member's words.
static const char *s_reason (const char *rule)
{
    if (!rule)
        return "请遵守群规";
    if (strcmp (rule, "behaviour.repeat") == 0)
        return "同样的内容请不要重复发送";
    if (strcmp (rule, "behaviour.quiet_hours") == 0)
        return "现在是本群的休息时间，请在休息时间之外发言";
    if (strncmp (rule, "format.at_all", 13) == 0)
        return "@所有人 请留给群主和店员发通知使用";
    if (strncmp (rule, "flood", 5) == 0)
        return "发言有点快，请稍微放慢一些";
    return "请遵守群规";
}

char *moderation_behaviour_notice (const moderation_penalty_t *pen, const char *who, const char *when)
{
    const char *why = s_reason (pen->rule);
    if (pen->action == QY__ACTION__MUTE)
        return qy_printf ("@%s %s。已开启慢速模式：%s前的发言会被自动撤回，之后恢复正常，不计入违规。", who, why, when);
    if (pen->recall)
        return qy_printf ("@%s %s，这条消息已撤回，不计入违规。", who, why);
    return qy_printf ("@%s 温馨提示：%s，谢谢配合～", who, why);
}

void moderation_link_keys (const char *unionid, const char *phone, char *buf, size_t len)
{
    //  Hashed, not stored: the keys only need to be equal for one person.
    //  A phone keeps its last eleven digits (+86, spaces and dashes go).
    char digits [32];
    size_t nd = 0;
    for (const char *s = phone; s && *s; s++)
        if (*s >= '0' && *s <= '9') {
            if (nd == sizeof (digits) - 1)
                memmove (digits, digits + 1, --nd);
            digits [nd++] = *s;
        }
    const char *tail = nd > 11 ? digits + nd - 11 : digits;
    size_t ntail = nd > 11 ? 11 : nd;
    buf [0] = 0;
    if (unionid && *unionid)
        qy_snprintf (buf, len, "u:%016llx", (unsigned long long) qy_hash64 (unionid, strlen (unionid)));
    if (ntail >= 7) {
        size_t used = strlen (buf);
        qy_snprintf (buf + used, len - used, "%sp:%016llx", used ? "," : "", (unsigned long long) qy_hash64 (tail, ntail));
    }
}

//  Strict normalized text is letters, digits and CJK only, so a ping is a
//  run of these phrases with nothing else.
static const char *const s_presence [] = { "有人在吗", "有人吗", "有人么", "有人没有", "有人没", "有没有人", "在吗",
                                           "在么", "在不在", "人呢", "有人回复吗", "有人回吗", "能回复一下吗" };
static const char *const s_greeting [] = { "你好", "您好", "请问", "哈喽", "hello", "hi", "亲", "客服", "店长", "老板",
                                           "小姐姐", "小哥哥", "啊", "呀", "呢", "了" };

static size_t s_match (const char *s, size_t len, const char *const *list, size_t n)
{
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen (list [i]);
        if (k <= len && k > best && memcmp (s, list [i], k) == 0)
            best = k;
    }
    return best;
}

bool moderation_waiting_ping (const char *norm, size_t len)
{
    bool presence = false;
    size_t i = 0;
    while (norm && i < len) {
        size_t k = s_match (norm + i, len - i, s_presence, QY_ARRAY_LEN (s_presence));
        presence |= k > 0;
        if (!k)
            k = s_match (norm + i, len - i, s_greeting, QY_ARRAY_LEN (s_greeting));
        if (!k)
            return false;
        i += k;
    }
    return presence;
}
