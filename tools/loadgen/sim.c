#include "sim.h"
#include "qy/util.h"
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

//  xorshift64*: fast, deterministic, good enough for a workload.
static uint64_t s_state;
static uint64_t s_next (void)
{
    s_state ^= s_state >> 12;
    s_state ^= s_state << 25;
    s_state ^= s_state >> 27;
    return s_state * 2685821657736338717ULL;
}
static double s_uniform (void) { return (double) (s_next () >> 11) / 9007199254740992.0; }
static int s_below (int n) { return (int) (s_uniform () * n); }

//  Share of the day's messages per hour: quiet at night, lunch bump, evening peak.
static const double s_hours [24] = { 1.2, .6, .3, .2, .2, .3, .8, 2, 3.5, 4.5, 5, 5.5,
                                     6.5, 5.5, 4.5, 4.5, 4.8, 5.2, 6, 7.5, 9, 9.5, 7, 3.5 };

static const char *s_chat [] = {
    "今天的新品口红有货吗？", "请问会员积分怎么兑换", "昨天买的面霜用着很好，推荐大家", "店里周末有活动吗",
    "这个精华适合油皮吗", "谢谢店长！", "收到啦，包装很用心", "打卡", "早上好各位", "有没有姐妹用过这款防晒",
    "满300减50是全场吗", "199的套装还有吗", "快递什么时候能到呀", "我也想要这个色号", "哈哈哈太可爱了",
    "晚上直播几点开始", "小样可以领几份", "敏感肌能用吗？", "上次的优惠券过期了怎么办", "已下单，期待",
    "请问2件8折和会员折扣能叠加吗", "门店几点关门", "这款粉底液是哪个色号比较白", "赞", "好的收到",
    "新人求推荐入门款", "今天到店体验了，服务很好", "什么时候补货", "支持一下", "大家晚安",
};
//  What chat is about, and how people end a line: combined with the
//  phrases above so that ordinary members rarely say the very same thing
//  twice (which moderation would rightly count as repeating).
static const char *s_topics [] = {
    "", "口红", "面霜", "精华", "防晒", "粉底液", "眼霜", "洁面", "香水", "会员卡", "小样", "套装", "新品", "直播",
};
static const char *s_endings [] = { "", "～", "！", "哈哈", "😊", "呀", "呢", "？", "👍", "谢谢", "[玫瑰]", "…" };

static const char *s_staff [] = {
    "各位亲，今晚8点直播间有专属福利，记得来哦", "本周新品已到店，欢迎到店试用，门店电话 %s",
    "会员日全场9折，积分双倍", "签到打卡第%d天，坚持的姐妹有惊喜", "有问题可以随时@我，门店电话 %s",
};
static const char *s_flood [] = { "有人吗有人吗", "顶顶顶" };
static const char *s_ads [] = {
    "兼职刷单日结，一单一结，加V：%s", "低价代购大牌，vx %s 私聊", "想赚钱的滴滴我，薇信 %s",
    "高仿一比一，需要的加微 %s", "网赚项目日入500，+V %s", "菠菜平台注册送88，联系 1%010ld",
    "全场一折清仓 www点%s点com", "招代理，详情看我头像，威信：%s", "贷款秒批，无抵押，电话 1%010ld",
    "出游戏账号 扣扣 %ld", "进群领红包 %s . com", "加我 v x：%s 有福利",
};

typedef struct {
    char   id [48];
    char   nick [48];
    double weight;       //  0: never speaks
    int    flooder;
    int    spammer;      //  joins to post ads with contact tricks
    int    staff;
} s_member_t;

static char *s_dupf (const char *fmt, const char *a, long n, int k)
{
    //  Format with whichever of the arguments the template takes.
    if (strstr (fmt, "%s"))
        return qy_printf (fmt, a);
    if (strstr (fmt, "%010ld"))
        return qy_printf (fmt, n);
    if (strstr (fmt, "%ld"))
        return qy_printf (fmt, n);
    if (strstr (fmt, "%d"))
        return qy_printf (fmt, k);
    return qy_strdup (fmt);
}

static Qy__Event *s_event (const sim_config_t *cfg, const char *store, const char *group, const s_member_t *m,
                           Qy__Kind kind, int64_t t, long *seq)
{
    Qy__Event *ev = qy_calloc (1, sizeof (*ev));
    qy__event__init (ev);
    ev->brand = qy_strdup (cfg->brand);
    ev->msg_id = qy_printf ("%s-%s-%ld", cfg->brand, cfg->run, ++*seq);
    ev->group = qy_strdup (group);
    ev->store = qy_strdup (store);
    ev->member = qy_strdup (m->id);
    ev->nickname = qy_strdup (m->nick);
    ev->kind = kind;
    ev->role = m->staff ? QY__ROLE__STAFF : QY__ROLE__MEMBER;
    ev->event_time_us = t;
    return ev;
}

static int s_cmp (const void *a, const void *b)
{
    const Qy__Event *x = *(Qy__Event *const *) a, *y = *(Qy__Event *const *) b;
    return x->event_time_us < y->event_time_us ? -1 : x->event_time_us > y->event_time_us;
}

static int64_t s_time_in_day (const sim_config_t *cfg)
{
    double r = s_uniform () * 100.0, acc = 0;
    int h = 23;
    double total = 0;
    for (int i = 0; i < 24; i++)
        total += s_hours [i];
    for (int i = 0; i < 24; i++) {
        acc += s_hours [i] * 100.0 / total;
        if (r < acc) {
            h = i;
            break;
        }
    }
    return cfg->day_start_us + ((int64_t) h * 3600 + s_below (3600)) * 1000000LL + s_below (1000000);
}

//  Messages per group, drawn once. Groups differ: a Zipf tail, so some
//  are busy and some nearly dead. Each message's group is found by binary
//  search in the cumulative weights (a scan would cost messages × groups);
//  they are summed in the order the scan summed them, so a seed still
//  gives the very same groups. Caller owns the array.
static long *s_messages_per_group (long messages, int ngroups)
{
    double *cum = qy_calloc ((size_t) ngroups, sizeof (double));
    double total = 0;
    for (int g = 0; g < ngroups; g++)
        cum [g] = total += 1.0 / pow ((double) ((g * 7919) % ngroups + 1), 0.8);
    long *gmsgs = qy_calloc ((size_t) ngroups, sizeof (long));
    for (long i = 0; i < messages; i++) {
        double r = s_uniform () * total;
        //  The first group whose cumulative weight exceeds r; the last
        //  group takes whatever rounding leaves over.
        int lo = 0, hi = ngroups - 1;
        while (lo < hi) {
            int mid = lo + (hi - lo) / 2;
            if (r < cum [mid])
                hi = mid;
            else
                lo = mid + 1;
        }
        gmsgs [lo]++;
    }
    free (cum);
    return gmsgs;
}

//  Whether one of a group's own events (a join, a staff post, a flood
//  burst) happens in the simulated day: always at p = 1, without a draw.
static bool s_today (double p)
{
    return p >= 1.0 || s_uniform () < p;
}

//  What generating a day works on: the events so far, and the group being
//  made (its store, its name, its members).
typedef struct {
    const sim_config_t *cfg;
    sim_counts_t *c;
    Qy__Event   **evs;
    size_t        n;
    long          seq;
    double        today;            //  the share of groups whose own events happen today
    s_member_t   *members;
    int           g;
    char          store [16], group [64];
} s_gen_t;

//  The group's members, and the joins (and some leaves) of those who join
//  today: most early in the day, through one of the channels. Returns the
//  sum of their chat weights.
static double s_gen_members (s_gen_t *x)
{
    static const char *channels [] = { "staff", "qr", "oa-menu", "member-invite" };
    static const Qy__JoinScene scenes [] = { QY__JOIN_SCENE__STAFF_INVITE, QY__JOIN_SCENE__QR_SCAN,
                                              QY__JOIN_SCENE__OA_MENU, QY__JOIN_SCENE__MEMBER_INVITE };
    static const double channel_share [] = { 0.40, 0.35, 0.15, 0.10 };
    const sim_config_t *cfg = x->cfg;
    double wtotal = 0;
    for (int m = 0; m < cfg->members; m++) {
        s_member_t *mm = &x->members [m];
        qy_snprintf (mm->id, sizeof (mm->id), "u%d-%d", x->g, m);
        if (m == 0)
            qy_snprintf (mm->nick, sizeof (mm->nick), "%s店长", x->store);
        else
            qy_snprintf (mm->nick, sizeof (mm->nick), "会员%d号", x->g * cfg->members + m);
        mm->staff = m == 0;
        //  Most members never speak; among those who do, a few speak most.
        mm->weight = (m == 0 || s_uniform () < 0.45) ? 1.0 / pow ((double) (m + 1), 1.1) * 30 : 0;
        if (m == 0)
            mm->weight = 0;
        mm->flooder = m > 0 && s_uniform () < cfg->flooder_rate;
        mm->spammer = m > 0 && !mm->flooder && s_uniform () < 0.03;
        wtotal += mm->weight;
        if (!s_today (x->today))
            continue;          //  joined before the day
        int64_t t = cfg->day_start_us + (int64_t) (s_uniform () * s_uniform () * 86000) * 1000000LL;
        Qy__Event *ev = s_event (cfg, x->store, x->group, mm, QY__KIND__JOIN, t, &x->seq);
        double r = s_uniform (), acc = 0;
        int k = 0;
        for (; k < 3; k++) {
            acc += channel_share [k];
            if (r < acc)
                break;
        }
        if (m == 0)
            k = 0;
        ev->join_scene = scenes [k];
        ev->channel = k < 2 ? qy_printf ("%s-%s", x->store, channels [k]) : qy_strdup (channels [k]);
        ev->inviter = k == 3 && m > 1 ? qy_printf ("u%d-%d", x->g, s_below (m - 1) + 1)
                                      : qy_strdup (k == 0 ? x->members [0].id : "");
        x->evs [x->n++] = ev;
        x->c->joins++;
        if (m > 0 && s_uniform () < cfg->leave_rate) {
            Qy__Event *lv = s_event (cfg, x->store, x->group, mm, QY__KIND__LEAVE,
                                     t + (int64_t) (s_uniform () * 3600) * 1000000LL, &x->seq);
            lv->leave_reason = QY__LEAVE_REASON__LEFT;
            x->evs [x->n++] = lv;
            x->c->leaves++;
        }
    }
    return wtotal;
}

//  The group's chat: nmsgs messages, each from a member drawn by weight;
//  ads come from the spammers among the members, not from regulars.
static void s_gen_chat (s_gen_t *x, long nmsgs, double wtotal)
{
    const sim_config_t *cfg = x->cfg;
    for (long i = 0; i < nmsgs && wtotal > 0; i++) {
        double r = s_uniform () * wtotal, acc = 0;
        int m = 1;
        for (; m < cfg->members - 1; m++) {
            acc += x->members [m].weight;
            if (r < acc)
                break;
        }
        bool ad = s_uniform () < cfg->ad_rate;
        if (ad) {
            int tries = 0;
            m = 1 + s_below (cfg->members - 1);
            while (!x->members [m].spammer && tries++ < cfg->members)
                m = 1 + (m % (cfg->members - 1));
            ad = x->members [m].spammer;
        }
        Qy__Event *ev = s_event (cfg, x->store, x->group, &x->members [m], QY__KIND__TEXT, s_time_in_day (cfg), &x->seq);
        if (ad) {
            char id [24];
            qy_snprintf (id, sizeof (id), "%c%c%d", 'a' + s_below (26), 'a' + s_below (26), 10000 + s_below (89999));
            ev->text = s_dupf (s_ads [s_below ((int) QY_ARRAY_LEN (s_ads))], id, 3000000000L + s_below (999999999), 0);
            x->c->ads++;
        }
        else {
            const char *topic = s_topics [s_below ((int) QY_ARRAY_LEN (s_topics))];
            ev->text = qy_printf ("%s%s%s%s", *topic ? topic : "", *topic ? "：" : "",
                                  s_chat [s_below ((int) QY_ARRAY_LEN (s_chat))],
                                  s_endings [s_below ((int) QY_ARRAY_LEN (s_endings))]);
        }
        x->evs [x->n++] = ev;
        x->c->messages++;
    }
}

//  The store's staff posts a few times a day, and each flooder's burst of
//  15 messages in 30 seconds.
static void s_gen_staff_and_floods (s_gen_t *x)
{
    const sim_config_t *cfg = x->cfg;
    for (int i = 0; i < 3; i++) {
        if (!s_today (x->today))
            continue;
        Qy__Event *ev = s_event (cfg, x->store, x->group, &x->members [0], QY__KIND__TEXT,
                                 cfg->day_start_us + (int64_t) (10 + 5 * i) * 3600 * 1000000LL, &x->seq);
        char phone [24];
        qy_snprintf (phone, sizeof (phone), "021-6%07d", 1000000 + x->g / cfg->groups + 1);
        ev->text = s_dupf (s_staff [s_below ((int) QY_ARRAY_LEN (s_staff))], phone, 0, i + 1);
        x->evs [x->n++] = ev;
        x->c->staff_posts++;
    }
    for (int m = 1; m < cfg->members; m++) {
        if (!x->members [m].flooder || !s_today (x->today))
            continue;
        int64_t t = s_time_in_day (cfg);
        for (int i = 0; i < 15; i++) {
            Qy__Event *ev = s_event (cfg, x->store, x->group, &x->members [m], QY__KIND__TEXT,
                                     t + (int64_t) i * 2000000, &x->seq);
            ev->text = qy_strdup (s_flood [i % 2]);
            x->evs [x->n++] = ev;
            x->c->flood_msgs++;
        }
    }
}

//  Gateways re-send: a few events go twice with the same id. Room for
//  every event twice: how many are drawn is random, and an allowance of the
//  expected count plus a few overflowed (ASan, 40,000 events).
static void s_gen_resends (s_gen_t *x)
{
    size_t base = x->n;
    x->evs = qy_realloc (x->evs, (2 * base + 8) * sizeof (Qy__Event *));
    for (size_t i = 0; i < base; i++)
        if (s_uniform () < x->cfg->dup_rate) {
            size_t len = qy__event__get_packed_size (x->evs [i]);
            uint8_t *buf = qy_malloc (len);
            qy__event__pack (x->evs [i], buf);
            x->evs [x->n++] = qy__event__unpack (NULL, len, buf);
            free (buf);
            x->c->duplicates++;
        }
}

Qy__Event **sim_generate (const sim_config_t *cfg, size_t *n_out, sim_counts_t *c)
{
    s_state = 0x9E3779B97F4A7C15ULL ^ cfg->seed;
    memset (c, 0, sizeof (*c));
    int ngroups = cfg->stores * cfg->groups;
    s_gen_t x = { .cfg = cfg, .c = c };
    //  Below 1 only when asked: at 1 no draw is made, so a day without
    //  day_groups is the very day it was before the option existed.
    x.today = cfg->day_groups > 0 && cfg->day_groups < ngroups ? (double) cfg->day_groups / ngroups : 1.0;
    size_t cap = (size_t) cfg->messages * 2 + (size_t) (ngroups * x.today) * (size_t) cfg->members * 3 + 1024;
    x.evs = qy_calloc (cap, sizeof (Qy__Event *));
    x.members = qy_calloc ((size_t) cfg->members, sizeof (s_member_t));
    long *gmsgs = s_messages_per_group (cfg->messages, ngroups);
    for (x.g = 0; x.g < ngroups; x.g++) {
        qy_snprintf (x.store, sizeof (x.store), "s%02d", x.g / cfg->groups + 1);
        qy_snprintf (x.group, sizeof (x.group), "%s-%s-g%d", cfg->brand, x.store, x.g % cfg->groups + 1);
        double wtotal = s_gen_members (&x);
        s_gen_chat (&x, gmsgs [x.g], wtotal);
        s_gen_staff_and_floods (&x);
        if (x.n + (size_t) cfg->members * 3 + 64 > cap) {
            cap *= 2;
            x.evs = qy_realloc (x.evs, cap * sizeof (Qy__Event *));
        }
    }
    qsort (x.evs, x.n, sizeof (Qy__Event *), s_cmp);
    s_gen_resends (&x);
    free (x.members);
    free (gmsgs);
    *n_out = x.n;
    return x.evs;
}

//  Whether text was made from template fmt: the same up to its first
//  conversion (every ad template has one, after a fixed opening).
static bool s_from_template (const char *text, const char *fmt)
{
    size_t fixed = strcspn (fmt, "%");
    return fixed > 0 && strncmp (text, fmt, fixed) == 0;
}

const char *sim_truth (const Qy__Event *ev)
{
    if (ev->kind == QY__KIND__JOIN)
        return "join";
    if (ev->kind == QY__KIND__LEAVE)
        return "leave";
    if (ev->kind != QY__KIND__TEXT || !ev->text)
        return "other";
    if (ev->role == QY__ROLE__STAFF)
        return "staff";
    for (size_t i = 0; i < QY_ARRAY_LEN (s_ads); i++)
        if (s_from_template (ev->text, s_ads [i]))
            return "ad";
    for (size_t i = 0; i < QY_ARRAY_LEN (s_flood); i++)
        if (strcmp (ev->text, s_flood [i]) == 0)
            return "flood";
    return "chat";
}

void sim_free (Qy__Event **events, size_t n)
{
    //  Generated events own plain malloc'd strings; unpacked copies were
    //  made by protobuf-c with the same system allocator, so both free the same way.
    for (size_t i = 0; i < n; i++)
        qy__event__free_unpacked (events [i], NULL);
    free (events);
}
