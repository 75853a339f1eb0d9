#include "notifier.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *notifier_action_name (Qy__Action a)
{
    switch (a) {
        case QY__ACTION__WARN:   return "warn";
        case QY__ACTION__RECALL: return "recall";
        case QY__ACTION__MUTE:   return "mute";
        case QY__ACTION__REMOVE: return "remove";
        case QY__ACTION__BLOCK:  return "remove";
        default:                 return "none";
    }
}

void notifier_payload (const Qy__Delivery *d, qy_buf_t *out)
{
    qy_buf_puts (out, "{\"key\":");
    qy_buf_json_str (out, d->key);
    qy_buf_puts (out, ",\"brand\":");
    qy_buf_json_str (out, d->brand);
    qy_buf_puts (out, ",\"group\":");
    qy_buf_json_str (out, d->group);
    qy_buf_puts (out, ",\"kind\":");
    qy_buf_json_str (out, d->kind);
    if (strcmp (d->kind, "action") == 0) {
        qy_buf_printf (out, ",\"action\":\"%s\"", notifier_action_name (d->action));
        if (d->member && *d->member) {
            qy_buf_puts (out, ",\"member\":");
            qy_buf_json_str (out, d->member);
        }
        if (d->target_msg_id && *d->target_msg_id) {
            qy_buf_puts (out, ",\"target_msg_id\":");
            qy_buf_json_str (out, d->target_msg_id);
        }
        if (d->until_us)
            qy_buf_printf (out, ",\"until\":%lld", (long long) (d->until_us / 1000000));
        if (d->reason && *d->reason) {
            qy_buf_puts (out, ",\"reason\":");
            qy_buf_json_str (out, d->reason);
        }
    }
    if (d->text && *d->text) {
        qy_buf_puts (out, ",\"text\":");
        qy_buf_json_str (out, d->text);
    }
    if (d->n_mentions) {
        qy_buf_puts (out, ",\"mentions\":[");
        for (size_t i = 0; i < d->n_mentions; i++) {
            if (i)
                qy_buf_puts (out, ",");
            qy_buf_json_str (out, d->mentions [i]);
        }
        qy_buf_puts (out, "]");
    }
    qy_buf_puts (out, ",\"source\":");
    qy_buf_json_str (out, d->source ? d->source : "");
    qy_buf_printf (out, ",\"created_us\":%lld}", (long long) d->created_us);
}

int64_t notifier_backoff_ms (int attempts, int64_t base_ms, int64_t cap_ms, double rand01)
{
    if (attempts < 1)
        attempts = 1;
    double d = (double) base_ms * pow (2.0, (double) (attempts - 1));
    if (d > (double) cap_ms)
        d = (double) cap_ms;
    d *= 0.8 + 0.4 * rand01;
    return (int64_t) d;
}

notifier_outcome_t notifier_classify (long http_status)
{
    if (http_status >= 200 && http_status < 300)
        return NOTIFIER_DONE;
    if (http_status == 0 || http_status == 408 || http_status == 425 || http_status == 429 || http_status >= 500)
        return NOTIFIER_RETRY;
    return NOTIFIER_FAIL;      //  the gateway said the request itself is wrong
}

//  WeCom's "slow down" answers: 45009 (API call frequency over the limit)
//  and 130101 (the robot's send frequency), both with HTTP 200.
static bool s_wecom_throttle (long errcode)
{
    return errcode == 45009 || errcode == 130101;
}

notifier_outcome_t notifier_classify_response (long http_status, const char *body, long retry_after_s,
                                               int64_t wecom_pause_ms, long *errcode, int64_t *pause_ms)
{
    *errcode = 0;
    *pause_ms = 0;
    //  A Retry-After is honoured up to an hour (or wecom_pause_ms if
    //  longer): a proxy's "come back in a year" must not stop a
    //  destination's moderation actions for a year.
    if (http_status == 429) {
        int64_t cap = wecom_pause_ms > NOTIFIER_RETRY_AFTER_MAX_MS ? wecom_pause_ms : NOTIFIER_RETRY_AFTER_MAX_MS;
        *pause_ms = retry_after_s <= 0 ? 1000 : retry_after_s >= cap / 1000 ? cap : (int64_t) retry_after_s * 1000;
        return NOTIFIER_PAUSE;
    }
    notifier_outcome_t o = notifier_classify (http_status);
    if (o != NOTIFIER_DONE || !body)
        return o;
    //  A 2xx can still carry WeCom's {"errcode": N, "errmsg": …}: only an
    //  integer errcode at the top of a JSON object is one ("errcode" as a
    //  value, or nested, is a gateway's own words about a success).
    json_t *answer = json_loads (body, 0, NULL);
    json_t *code = json_is_object (answer) ? json_object_get (answer, "errcode") : NULL;
    *errcode = json_is_integer (code) ? (long) json_integer_value (code) : 0;
    json_decref (answer);
    if (*errcode == 0)
        return NOTIFIER_DONE;
    if (s_wecom_throttle (*errcode)) {
        *pause_ms = wecom_pause_ms;
        return NOTIFIER_PAUSE;
    }
    if (*errcode == -1)          //  "system busy": try again later
        return NOTIFIER_RETRY;
    return NOTIFIER_FAIL;        //  bad key, bad body, …: retrying will not help
}
