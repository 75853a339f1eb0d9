/*  =========================================================================
    judge.h - the moderation judge: a pure, no-I/O library that normalizes a
    chat message, runs the brand's rules and the statistical classifiers over
    it and reports scored evidence as spans of the ORIGINAL text.

    Everything here is deterministic and free of network, Redis or
    PostgreSQL: the moderation service loads rule rows from PostgreSQL and
    counts strikes in Redis, then calls these functions. Tests and the
    benchmark link the same library.

    Thread-safety: a judge_t holds scratch buffers and must be used by one
    thread at a time. Create one judge per worker thread (or lock).
    Memory: allocation failures abort (Redis style); callers never test
    for NULL out of memory, only for invalid input.
    =========================================================================
*/
#ifndef QY_JUDGE_H_INCLUDED
#define QY_JUDGE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "judge_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *opencc_config;      //  NULL: /usr/share/opencc/t2s.json; "": no t2s
    const char *ad_model_path;      //  NULL: no "ad" classifier
    const char *abuse_model_path;   //  NULL: no "abuse" classifier
} judge_options_t;

typedef struct _judge_t judge_t;

//  Build a judge from rule rows. opts may be NULL (defaults). Returns NULL
//  and writes a short reason into err (if not NULL) when a rule is invalid,
//  the OpenCC configuration or a model file cannot be loaded.
judge_t *judge_new (const judge_rule_row_t *rows, size_t n,
                    const judge_options_t *opts, char *err, size_t errlen);

//  Destroy the judge and set *self_p to NULL. Safe on NULL.
void judge_destroy (judge_t **self_p);

//  Input of one judgement. All strings are borrowed for the call.
typedef struct {
    const char *text;       //  UTF-8 message text (may be NULL or empty)
    size_t      len;        //  bytes of text; (size_t) -1: NUL-terminated
    const char *msgtype;    //  "text", "image", "link", "weapp", "card",
                            //  "redpacket", "file", "voice", "video",
                            //  "emotion", "qrcode"; NULL means "text"
    const char *role;       //  "member", "staff", "admin", "owner", "bot" (the brand's robot, counted as staff); NULL = member
    int         exempt_staff;   //  1: staff/admin/owner are exempt from all rules
    int         at_all;     //  1: gateway reports an @all mention
} judge_input_t;

#define JUDGE_MAX_HITS 32

typedef struct {
    const char   *rule;     //  rule name, owned by the judge
    qy_category_t category;
    double        weight;
    int           dry_run;
    size_t        start;    //  byte span [start, end) in the ORIGINAL text
    size_t        end;
    int           contact;  //  1: a link or contact detail (url, phone, qq,
                            //  wechat_id, contact_phrase, msgtype rules), what
                            //  newcomers may not post
    int           cancelable;   //  1: a contact detail whose worth depends on the
                            //  community (phone, qq, wechat_id, contact_phrase):
                            //  a negative weight of its category cancels it
} judge_hit_t;

typedef struct {
    judge_hit_t   hits [JUDGE_MAX_HITS];
    size_t        nhits;
    size_t        hits_dropped;     //  hits beyond JUDGE_MAX_HITS: scored, not listed
    double        score [QY_CAT__COUNT];    //  non-dry-run weights only
    double        total;            //  every category but complaint
    qy_category_t top;              //  highest score but complaint; QY_CAT__COUNT if total == 0
    double        p_ad;             //  classifier probabilities, -1 if no model
    double        p_abuse;
    double        p_complaint;
    const char   *normalized;       //  strict normalized text, valid until the
    size_t        normalized_len;   //  next judge_eval or judge_destroy
} judge_result_t;

//  A complaint (score [QY_CAT_COMPLAINT] >= review) is reported, never
//  added to total: it asks for a person, not a penalty.
//  Judge one message. Fills *out. Returns 0, or -1 if in is malformed
//  (NULL text with non-zero length).
int judge_eval (judge_t *self, const judge_input_t *in, judge_result_t *out);
//  Score the hits: r->score per category from the listed hits that are
//  not dry-run, where a negative weight cancels the contact evidence
//  (hit->cancelable) of its own category and nothing else; no category
//  below zero; r->total their sum, r->top the highest. judge_eval ends
//  with it; callers that add or re-weigh hits call it again.
void judge_result_settle (judge_result_t *r);
//  The listed hits' weights per category (arrays of QY_CAT__COUNT): of the
//  plain hits, of the cancelable contact details, and of the negative hits;
//  dry-run hits counted as live ones if with_dry_run, else skipped.
void judge_result_sums (const judge_result_t *r, int with_dry_run, double *plain,
                        double *contact, double *negative);

//  Normalize text with this judge's normalizer into its scratch: the
//  strict form (what keywords, regexes and the classifier see). Returns a
//  pointer valid until the next call on this judge; *len_p gets its length.
const char *judge_normalize (judge_t *self, const char *text, size_t len, size_t *len_p);

//  Online learning from an operator decision: label 1 confirms that text
//  belongs to category ("ad" or "abuse"), 0 overturns. Returns -1 if the
//  judge has no model for that category.
int judge_learn (judge_t *self, const char *category, const char *text, int label);

//  Load (or replace) the judge's model for category ("ad", "abuse",
//  "complaint": a brand's own complaint model, `train --category
//  complaint`) from path. Returns 0, or -1 and a reason in err; the judge
//  keeps its previous model then.
int judge_load_model (judge_t *self, const char *category, const char *path,
                      char *err, size_t errlen);

//  Save the judge's model for category to path. Returns 0 or -1.
int judge_save_model (judge_t *self, const char *category, const char *path);

//  Nickname format check. pattern is either a list of field labels separated
//  by '-' (e.g. "昵称-城市-肤质": exactly three non-empty '-'-separated
//  parts) or "re:REGEX" (the whole nickname must match). Returns 1 if the
//  nickname conforms, 0 if not, -1 if the pattern is invalid.
int judge_nickname_ok (const char *pattern, const char *nickname);

//  ---------------------------------------------------------------------
//  Rule sets

//  The built-in default rule set (default_rules.tsv, embedded at build
//  time). Static storage, never free it. *n_p gets the number of rows.
const judge_rule_row_t *judge_default_rules (size_t *n_p);

//  Parse rule rows from TSV text (columns name, kind, category, weight,
//  pattern, optional dry_run; '#' comments; "\n" "\t" "\\" escapes in
//  pattern). Caller owns the result; free with judge_rules_free.
judge_rule_row_t *judge_rules_parse_tsv (const char *text, size_t len, size_t *n_p,
                                         char *err, size_t errlen);
judge_rule_row_t *judge_rules_load_tsv (const char *path, size_t *n_p,
                                        char *err, size_t errlen);
void judge_rules_free (judge_rule_row_t **rows_p, size_t n);

//  Default path of the model for category: $QY_MODEL_DIR/<category>.model
//  if that file exists, else <built-in model dir>/<category>.model.
//  Returns 0, or -1 if buf is too small.
int judge_model_default_path (const char *category, char *buf, size_t buflen);

//  ---------------------------------------------------------------------
//  Decisions: pure mapping of scores to actions (judge_decide.c)

typedef enum {
    JUDGE_ALLOW,
    JUDGE_REVIEW,
    JUDGE_RECALL,
    JUDGE_MUTE,
    JUDGE_REMOVE
} judge_action_t;

typedef struct {
    double review;      //  total >= review -> flag for review
    double recall;      //  total >= recall -> recall the message
    double mute;        //  total >= mute   -> recall and apply the ladder's mute
    double remove;      //  total >= remove -> remove the member
} judge_thresholds_t;

//  Defaults: review 0.5, recall 1.0, mute 2.0, remove 3.0.
judge_thresholds_t judge_thresholds_default (void);
judge_action_t judge_decide (const judge_thresholds_t *t, double total);
const char *judge_action_name (judge_action_t action);

typedef enum {
    JUDGE_STEP_WARN,
    JUDGE_STEP_MUTE,
    JUDGE_STEP_REMOVE_BLOCK     //  remove and block in all the brand's groups
} judge_step_kind_t;

typedef struct {
    judge_step_kind_t kind;
    int               minutes;  //  mute length; 0 for warn / remove
} judge_ladder_step_t;

#define JUDGE_LADDER_MAX 16
typedef struct {
    judge_ladder_step_t steps [JUDGE_LADDER_MAX];
    size_t              nsteps;
} judge_ladder_t;

//  warn -> mute 1 day -> mute 7 days -> mute 15 days -> remove + block.
judge_ladder_t judge_ladder_default (void);
//  Step for a member with prior_strikes confirmed strikes in the brand
//  (0 = first offence). Past the end, the last step repeats.
judge_ladder_step_t judge_ladder_step (const judge_ladder_t *ladder, int prior_strikes);
//  Parse "warn,mute:1440,mute:10080,mute:21600,remove". Returns 0 or -1.
int judge_ladder_parse (const char *text, judge_ladder_t *out);
const char *judge_step_name (judge_step_kind_t kind);

#ifdef __cplusplus
}
#endif

#endif
