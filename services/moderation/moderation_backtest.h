//  A backtest of a proposed rule set: the brand's archived chat messages
//  of the last N days judged by its current rule set and by the proposed
//  one, as the service would (the brand's policy, lists and learned
//  models), counting each rule's hits and the verdicts that change. The
//  one implementation `qyctl moderation backtest` and the console's rules
//  dry-run both run. It reads on the caller's connection inside the
//  caller's transaction (the console's carries the user's row-level
//  scope) and leaves BEGIN and COMMIT to the caller.
#ifndef MODERATION_BACKTEST_H
#define MODERATION_BACKTEST_H
#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>
#include "judge.h"
#include "qy/util.h"

typedef struct {
    char *rule;
    long  now, proposed;             //  hits under the current and the proposed rule set
} moderation_bt_rule_t;

typedef struct {
    char          *msg_id;
    judge_action_t now, proposed;
    char          *text;             //  its first 60 characters
} moderation_bt_change_t;

typedef struct {
    long                    total, changed;
    long                    matrix [5][5];   //  [now][proposed] verdicts
    moderation_bt_rule_t   *rules;           //  sorted by name
    size_t                  nrules;
    moderation_bt_change_t *changes;         //  the first `examples` that changed
    size_t                  nchanges;
    char                   *warning;         //  brand settings or policy ignored, as by the service (or NULL)
} moderation_backtest_t;

//  Called every page of 5,000 messages with the count so far.
typedef void (moderation_bt_progress_fn) (void *ctx, long done);

//  What a backtest is asked: brand bid (decimal) over days (decimal,
//  1–36500) with proposed rule rows (NULL: the current ones again), keeping
//  up to examples changed messages; progress (may be NULL) gets ctx.
typedef struct {
    const char             *bid;
    const char             *days;
    const judge_rule_row_t *proposed;
    size_t                  nproposed;
    int                     examples;
    moderation_bt_progress_fn *progress;
    void                   *ctx;
} moderation_backtest_in_t;

//  Run the backtest. 0, or -1 with err (an SQL error, or a rule set the
//  judge rejects: "proposed rule set rejected: …").
int moderation_backtest (PGconn *conn, const moderation_backtest_in_t *in, moderation_backtest_t *out, char *err,
                         size_t errlen);

//  The findings as one JSON object: {"changed": [examples], "rules": […],
//  "verdict_changes": […], "summary": {"messages", "changed", "days", "rules": rules_name}}.
void moderation_backtest_json (const moderation_backtest_t *bt, const char *days, const char *rules_name, qy_buf_t *out);
void moderation_backtest_free (moderation_backtest_t *bt);
#endif
