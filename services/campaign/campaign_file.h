//  A playbook document ({"brand", "guards", "group_guards", "campaigns"},
//  docs/campaign.md) checked whole with the service's own parsers before
//  a single row changes: what `qyctl campaign apply [--dry-run]` and the
//  console's campaign upload both run. Whether the brand and the groups
//  named exist is the caller's (it holds the connection).
#ifndef CAMPAIGN_FILE_H
#define CAMPAIGN_FILE_H
#include "campaign.h"
#include <jansson.h>

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
#endif
