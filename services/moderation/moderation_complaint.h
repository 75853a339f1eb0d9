//  Complaints (投诉 / 差评): a customer's complaint is never punished; it
//  goes to a person. See docs/moderation.md, "Complaints".
#ifndef MODERATION_COMPLAINT_H
#define MODERATION_COMPLAINT_H
#include <stdbool.h>
#include "judge.h"
#include "qunyun.pb-c.h"
#include "qy/pg.h"
#include "qy/redis.h"
#include "moderation.h"

//  Pure: the topic of a complaint, or NULL when the judgement is none (its
//  complaint score below the review threshold). The first topic rule hit
//  names it: 质量 (quality), 物流与破损 (delivery, damage), 退换货
//  (refunds, returns), 价格保护 (price), 服务态度 (service); 其他 when
//  only a negative or explicit word, or a model, made it one.
const char *moderation_complaint_topic (const judge_result_t *r, const judge_thresholds_t *t);

//  Pure: the Redis counter of complaints in one hour, per store (store_id,
//  or the group when the store is unknown) or, with store false, per brand.
void moderation_complaint_counter (char *buf, size_t size, int64_t brand_id, bool store,
                                   int64_t store_id, int64_t group_id, int64_t event_time_us);

//  Pure: the products text names, from a list of everyday product words
//  (洗发水, 面霜, 裤子, 手机, 牛奶 …), as a PostgreSQL array literal into
//  buf ("{}" for none; at most 8).
void moderation_complaint_products (const char *text, char *buf, size_t size);

//  Escalate a member's complaint: an alert to the group's store (once per
//  message), a row in complaints (the voice-of-customer summary), and a
//  complaint_surge alert when the store's count in the hour reaches
//  per_store or the brand's reaches per_brand (0: off).
void moderation_complaint_escalate (qy_pg_t *pg, qy_redis_t *redis, void *actions, const Qy__Event *ev,
                                    const char *topic, long per_store, long per_brand);

//  Complaints still open answer.escalate_s after they were made (in the
//  group's business hours) are escalated to HQ once each. Called with the
//  questions' sweep (moderation_questions_sweep).
void moderation_complaints_sweep (moderation_store_t *store, qy_pg_t *pg, void *actions);

//  INCR a windowed counter and let it live ttl_s seconds; its new value,
//  or 0 if Redis failed (no surge alert then).
long long moderation_window_incr (qy_redis_t *redis, const char *key, int ttl_s);

//  moderation_batch.c: an operator alert about event ev to the group's store (brand_wide
//  false) or to HQ, once per key.
void moderation_alert_event (void *out, const Qy__Event *ev, const char *key, bool brand_wide,
                       const char *text, const char *reason);
#endif
