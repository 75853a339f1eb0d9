//  The staff task loop's decisions, with no I/O: which deliveries an edge
//  can carry, the reminder and escalation ladder, and what a notice says.
#include "notifier_tasks.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

tasks_cap_t notifier_tasks_cap (const char *capability)
{
    return capability && strcmp (capability, "official") == 0 ? TASKS_CAP_OFFICIAL : TASKS_CAP_GATEWAY;
}

static bool s_prefix (const char *s, const char *p)
{
    return s && strncmp (s, p, strlen (p)) == 0;
}

tasks_route_t notifier_tasks_route (tasks_cap_t cap, const Qy__Delivery *d, tasks_kind_t *kind)
{
    *kind = TASKS_K_NONE;
    if (cap != TASKS_CAP_OFFICIAL || !d->kind)
        return TASKS_DELIVER;
    if (strcmp (d->kind, "post") == 0) {
        //  WeCom sends the group welcome template by itself: nobody confirms it.
        if (s_prefix (d->key, "welcome:"))
            return TASKS_DELIVER;
        bool one = d->n_mentions == 1 && !d->at_all && strcmp (d->mentions [0], "@all") != 0;
        *kind = one ? TASKS_K_ANSWER : TASKS_K_POST;
        return TASKS_BOTH;
    }
    //  A complaint or a waiting customer in a group is the owner's to
    //  answer: a task (its notice is the hand-over), closed when staff reply.
    //  Brand-wide alerts (escalations to HQ) stay alerts.
    if (strcmp (d->kind, "alert") == 0) {
        bool answer = d->reason && (strcmp (d->reason, "complaint") == 0 || strcmp (d->reason, "unanswered") == 0);
        if (!answer || (!d->group_id && !(d->group && *d->group)))
            return TASKS_DELIVER;
        *kind = TASKS_K_ANSWER;
        return TASKS_TASK;
    }
    if (strcmp (d->kind, "action") == 0)
        switch (d->action) {
            case QY__ACTION__RECALL:
            case QY__ACTION__MUTE:
                *kind = TASKS_K_RECALL_WARN;
                return TASKS_TASK;
            case QY__ACTION__WARN:
                //  A warning is a post: the connector offers it as a mass send
                //  the owner confirms, and it is part of the person's task.
                *kind = TASKS_K_RECALL_WARN;
                return TASKS_BOTH;
            case QY__ACTION__REMOVE:
            case QY__ACTION__BLOCK:
                *kind = TASKS_K_REMOVE;
                return TASKS_TASK;
            default:
                return TASKS_DELIVER;
        }
    return TASKS_DELIVER;
}

static const char *s_kinds [] = { "", "post", "answer", "remove", "recall_warn" };

const char *notifier_tasks_kind_name (tasks_kind_t kind)
{
    return kind >= TASKS_K_NONE && kind <= TASKS_K_RECALL_WARN ? s_kinds [kind] : "";
}

tasks_kind_t notifier_tasks_kind_of (const char *name)
{
    for (int k = TASKS_K_POST; k <= TASKS_K_RECALL_WARN; k++)
        if (name && strcmp (name, s_kinds [k]) == 0)
            return (tasks_kind_t) k;
    return TASKS_K_NONE;
}

char *notifier_tasks_source_key (const Qy__Delivery *d, tasks_kind_t kind)
{
    if (kind == TASKS_K_POST || kind == TASKS_K_ANSWER)
        return qy_strdup (d->key);
    const char *ev = d->event_id && *d->event_id ? d->event_id : d->key;
    if (d->group_id)
        return qy_printf ("mod:%lld:%s:%lld:%s", (long long) d->brand_id, ev, (long long) d->group_id, notifier_tasks_kind_name (kind));
    return qy_printf ("mod:%lld:%s:%s:%s", (long long) d->brand_id, ev, d->group ? d->group : "", notifier_tasks_kind_name (kind));
}

//  A spammer stays in the group until someone removes them: that is the
//  most urgent; a recall is possible only for a while; a post has a day.
tasks_ladder_t notifier_tasks_ladder_default (tasks_kind_t kind)
{
    switch (kind) {
        case TASKS_K_REMOVE:      return (tasks_ladder_t) { 1800, 0, 1800, 7200, 86400 };
        case TASKS_K_RECALL_WARN: return (tasks_ladder_t) { 600, 0, 1800, 7200, 86400 };
        case TASKS_K_ANSWER:      return (tasks_ladder_t) { 1800, 0, 3600, 14400, 86400 };
        default:                  return (tasks_ladder_t) { 7200, 0, 7200, 21600, 86400 };
    }
}

int notifier_tasks_ladder_parse (json_t *settings, tasks_kind_t kind, tasks_ladder_t *out, char *err, size_t errlen)
{
    *out = notifier_tasks_ladder_default (kind);
    json_t *tasks = settings ? json_object_get (settings, "tasks") : NULL;
    json_t *k = tasks ? json_object_get (tasks, notifier_tasks_kind_name (kind)) : NULL;
    if (!k)
        return 0;
    struct { const char *name; int64_t *v; } f [] = {
        { "deadline_s", &out->deadline_s }, { "remind_s", &out->remind_s }, { "manager_s", &out->manager_s },
        { "region_s", &out->region_s }, { "expire_s", &out->expire_s },
    };
    for (size_t i = 0; i < QY_ARRAY_LEN (f); i++) {
        json_t *v = json_object_get (k, f [i].name);
        if (!v)
            continue;
        if (!json_is_integer (v) || json_integer_value (v) < 0 || json_integer_value (v) > 30 * 86400) {
            qy_snprintf (err, errlen, "settings: tasks.%s.%s must be a whole number of seconds in [0, 2592000]",
                         notifier_tasks_kind_name (kind), f [i].name);
            return -1;
        }
        *f [i].v = json_integer_value (v);
    }
    if (out->remind_s > out->manager_s || out->manager_s > out->region_s || out->region_s > out->expire_s) {
        qy_snprintf (err, errlen, "settings: tasks.%s: want remind_s <= manager_s <= region_s <= expire_s",
                     notifier_tasks_kind_name (kind));
        return -1;
    }
    return 0;
}

tasks_step_t notifier_tasks_next (const tasks_ladder_t *l, int stage, int64_t created_us, int64_t now_us, int64_t *next_us)
{
    int64_t due = created_us + l->deadline_s * 1000000;
    //  When each stage's step comes due (index = the stage it reaches).
    int64_t at [6] = { 0, created_us, due + l->remind_s * 1000000, due + l->manager_s * 1000000,
                       due + l->region_s * 1000000, due + l->expire_s * 1000000 };
    tasks_step_t step = TASKS_STEP_NONE;
    if (stage <= 0)
        step = TASKS_STEP_NOTIFY;
    else
        for (int s = TASKS_STEP_EXPIRE; s > stage; s--)
            if (now_us >= at [s]) {
                step = (tasks_step_t) s;
                break;
            }
    int reached = step != TASKS_STEP_NONE ? (int) step : stage;
    *next_us = reached < TASKS_STEP_EXPIRE ? at [reached + 1] : INT64_MAX;
    return step;
}

const char *notifier_tasks_step_name (tasks_step_t step)
{
    static const char *names [] = { "none", "notify", "remind", "manager", "region", "expire" };
    return step >= TASKS_STEP_NONE && step <= TASKS_STEP_EXPIRE ? names [step] : "none";
}

static const char *s_title (tasks_kind_t kind, const char *reason)
{
    //  A customer to answer is no mass send to confirm.
    if (kind == TASKS_K_ANSWER && reason && strcmp (reason, "complaint") == 0)
        return "请回复并处理顾客投诉";
    if (kind == TASKS_K_ANSWER && reason && strcmp (reason, "unanswered") == 0)
        return "请回复等待中的顾客";
    switch (kind) {
        case TASKS_K_REMOVE:      return "请将成员移出群聊";
        case TASKS_K_RECALL_WARN: return "请撤回违规消息并提醒成员";
        case TASKS_K_ANSWER:      return "请确认群发（回复客户）";
        default:                  return "请确认群发";
    }
}

void notifier_tasks_notice (const tasks_notice_t *n, qy_buf_t *title, qy_buf_t *text, qy_buf_t *url)
{
    static const char *prefix [] = { "", "", "【提醒】", "【升级·店长】", "【升级·区域】", "【已过期】" };
    qy_buf_printf (title, "%s%s", prefix [n->step <= TASKS_STEP_EXPIRE ? n->step : 0], s_title (n->kind, n->reason));
    qy_buf_printf (text, "群：%s", n->group_name && *n->group_name ? n->group_name : "（未知群）");
    if (n->store_name && *n->store_name)
        qy_buf_printf (text, "（%s）", n->store_name);
    if (n->member_name && *n->member_name)
        qy_buf_printf (text, "\n成员：%s", n->member_name);
    if (n->reason && *n->reason)
        qy_buf_printf (text, "\n原因：%s", n->reason);
    if (n->evidence && *n->evidence) {
        char *cut = qy_utf8_prefix (n->evidence, 300);
        qy_buf_printf (text, "\n消息：%s", cut);
        free (cut);
    }
    if (n->content && *n->content) {
        char *cut = qy_utf8_prefix (n->content, 600);
        qy_buf_printf (text, n->kind == TASKS_K_RECALL_WARN || n->kind == TASKS_K_REMOVE ? "\n提醒内容：%s" : "\n内容：%s", cut);
        free (cut);
    }
    if (n->step >= TASKS_STEP_MANAGER && n->owner_name && *n->owner_name)
        qy_buf_printf (text, "\n群主 %s 未在截止时间前完成", n->owner_name);
    if (n->due_us) {
        time_t t = (time_t) (n->due_us / 1000000 + (int64_t) n->tz_offset_min * 60);
        struct tm tm;
        gmtime_r (&t, &tm);
        qy_buf_printf (text, "\n截止：%02d-%02d %02d:%02d", tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
    }
    qy_buf_printf (text, "\n任务 #%lld", (long long) n->id);
    if (n->base_url && *n->base_url) {
        size_t len = strlen (n->base_url);
        while (len && n->base_url [len - 1] == '/')
            len--;
        qy_buf_printf (url, "%.*s/tasks/%lld", (int) len, n->base_url, (long long) n->id);
    }
}
