//  qy-console: the operators' console and HTTP API (issue 17, docs/api.md).
//  The pure parts (roles, login backoff, query parsing, highlighting, CSV)
//  live in console_lib with unit tests; console_http.c serves, console_db.c
//  holds the connection pool and each request's scoped transaction,
//  console_api*.c answer the endpoints.
#ifndef CONSOLE_H
#define CONSOLE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <libpq-fe.h>
#include "qy/service.h"
#include "qy/util.h"

typedef struct {
    qy_common_config_t common;
    char  *bind;
    long   port;
    long   threads;
    long   pool;
    char  *static_dir;
    char  *chartjs;
    bool   secure_cookie;
    char  *proxy;
    long   session_ttl_s;
    long   body_max;
    long   login_threshold;
    long   address_threshold;
    long   lockout_base_s;
    long   lockout_cap_s;
    long   search_days;
    long   export_max;
    long   overview_cache_s;
    char  *replay_ingest;
    char  *replay_moderation;
    char  *replay_scoring;
    char  *replay_campaign;
    long   replay_timeout_ms;
} console_config_t;

//  ------------------------------------------------------------ roles

typedef enum {
    CONSOLE_ADMIN    = 1 << 0,
    CONSOLE_HQ       = 1 << 1,
    CONSOLE_REGION   = 1 << 2,
    CONSOLE_STORE    = 1 << 3,
    CONSOLE_REVIEWER = 1 << 4
} console_role_t;
#define CONSOLE_ANY (CONSOLE_ADMIN | CONSOLE_HQ | CONSOLE_REGION | CONSOLE_STORE | CONSOLE_REVIEWER)
#define CONSOLE_STAFF (CONSOLE_ADMIN | CONSOLE_HQ | CONSOLE_REGION | CONSOLE_STORE)

//  The role of a name ("hq" …), 0 if unknown.
console_role_t console_role_parse (const char *name);
const char *console_role_name (console_role_t role);
//  Whether a token of role `want` may be made by a user of role `have`:
//  the same role, or reviewer (narrower, same scope). Pure.
bool console_token_role_ok (console_role_t have, console_role_t want);

//  Who is asking: from a session cookie or an API token.
typedef struct {
    int64_t        user_id;
    char           login [128];
    console_role_t role;
    int64_t        brand_id;         //  0: platform admin
    int64_t        region_id;        //  0: none
    int64_t        store_id;         //  0: none
    char           csrf [65];        //  the session's CSRF token ("" for API tokens)
    bool           via_token;
} console_principal_t;

//  ------------------------------------------------------------ login backoff

//  Seconds a key is locked after its failures-th failed login in a row:
//  none below threshold, then base doubling with each further failure,
//  capped. Pure.
long console_lockout_s (long failures, long threshold, long base_s, long cap_s);

//  ------------------------------------------------------------ queries

//  The groups list's filter and sort, parsed from the query string.
typedef struct {
    const char *store, *region, *state, *tag, *type, *q;
    long        min_size, max_size;  //  -1: unbounded
    long        min_health, max_health;
    const char *sort;                //  column expression (from a fixed list)
    bool        desc;
    long        limit, offset;
} console_groups_query_t;

//  Look up one query-string value (NULL when absent).
typedef const char *(console_arg_fn) (void *arg, const char *name);
//  Parse the groups query. Returns 0, or -1 with a message in err naming
//  the bad parameter. Pure.
int console_groups_query_parse (console_arg_fn *get, void *arg, console_groups_query_t *q, char *err, size_t errlen);
//  A whole number parameter within [min, max], def when absent; -1 on a bad value. Pure.
int console_long_arg (const char *s, long def, long min, long max, long *out);

//  Split text around each case-sensitive occurrence of needle into JSON
//  segments [{"t":"…","hit":true|false}, …] appended to out. Never splits
//  a UTF-8 character (needle is valid UTF-8). Pure.
void console_highlight (qy_buf_t *out, const char *text, const char *needle);
//  The same segments for n byte spans [start, end) (pairs in spans, sorted
//  in place; overlaps merged; widened to whole characters; clamped). Pure.
void console_spans (qy_buf_t *out, const char *text, long *spans, size_t n);
//  Escape s for a LIKE pattern (\ % _). Caller frees. Pure.
char *console_like_escape (const char *s);
//  Append one CSV field (RFC 4180). Pure.
void console_csv_field (qy_buf_t *out, const char *v);
//  Content type of a static file by its extension. Pure.
const char *console_content_type (const char *path);
//  Whether a URL path is safe to map into the static folder (no "..",
//  no NUL, only [A-Za-z0-9._/-]). Pure.
bool console_static_path_ok (const char *path);
//  Hash a password with argon2id (libsodium crypto_pwhash_str) into out
//  (crypto_pwhash_STRBYTES = 128). 0, or -1 when out of memory.
int console_password_hash (const char *password, char out [128]);
#endif
