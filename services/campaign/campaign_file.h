//  A playbook document ({"brand", "guards", "group_guards", "campaigns"},
//  docs/campaign.md) checked whole with the service's own parsers before
//  a single row changes: what `qyctl campaign apply [--dry-run]` and the
//  console's campaign upload both run. Whether the brand and the groups
//  named exist is the caller's (it holds the connection).
#ifndef CAMPAIGN_FILE_H
#define CAMPAIGN_FILE_H
#include "campaign.h"
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

typedef struct {
    const char      *brand;     //  the brand code (borrowed from the document)
    json_t          *guards;    //  brand-wide guards, or NULL (borrowed)
    json_t          *group_guards;  //  group code → guards, or NULL (borrowed)
    json_t          *campaigns; //  the definitions as written, or NULL (borrowed)
    campaign_def_t **defs;      //  … parsed, one per element
    size_t           n;
} campaign_file_t;

//  0, or -1 with err naming the first problem ("campaigns[1]: …",
//  "group_guards.g1: …", "unknown key \"x\" …"). Free with campaign_file_free.
int campaign_file_check (json_t *root, campaign_file_t *out, char *err, size_t errlen);
void campaign_file_free (campaign_file_t *f);

//  What applying wrote, told as it goes (for the caller's output and audit).
typedef struct {
    void (*guards) (void *ctx, const char *scope, const char *settings);     //  scope: "brand" or the group code
    void (*campaign) (void *ctx, const campaign_def_t *def, bool created, const char *version, bool replanned);
    void  *ctx;
} campaign_apply_cb_t;

//  The planned steps not yet sent of the document's campaigns, which
//  applying re-plans (asked for first); -1 with err on an SQL error.
long campaign_file_pending (PGconn *conn, const char *bid, const campaign_file_t *f, char *err, size_t errlen);
//  Write a checked document for brand bid (decimal): guards, group guards
//  (every group code must exist), campaigns (version up when the definition
//  changed; pending planned steps dropped for the planner to make again).
//  Inside the caller's transaction. 0, or -1 with err.
int campaign_file_apply (PGconn *conn, const char *bid, const campaign_file_t *f, const campaign_apply_cb_t *cb,
                         char *err, size_t errlen);
#endif
