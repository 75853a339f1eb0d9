//  scoring_count_kv: what one counting batch read of Redis and what it
//  will write, kept in memory so the counting itself (scoring_count_tally.c)
//  runs without Redis. Reads are loaded in; the tally reads and writes the
//  current values; the writes come out as one command per key (HINCRBY
//  once per field, its increments summed), so a batch writes each key once
//  however many of its events touched it.
#include "scoring.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

typedef enum { S_HASH, S_SET, S_HLL, S_ZSET, S_LEN } s_kind_t;

//  One field of a hash (or member of a set, sorted set, HyperLogLog).
typedef struct {
    s_kind_t kind;
    char    *key, *field;
    char    *value;         //  current (NULL: absent)
    bool     set;           //  written by HSET / HDEL (value NULL) / SADD / PFADD
    int64_t  delta;         //  HINCRBY / ZINCRBY total
    bool     counter;       //  written by HINCRBY / ZINCRBY
    size_t   keyno;         //  its key in keys
    bool     borrowed;      //  key and field not its own (a field set's: scoring_kv_fields)
} s_entry_t;

//  One key's expiry, and which events wrote the key.
typedef struct {
    char   *key;
    long    ttl_s;
    int     mode;           //  0 none, 1 EXPIRE NX, 2 EXPIRE
    bool    broken;         //  Redis answered its read with an error
    size_t *events;
    size_t  nevents, cap;
} s_key_t;

struct scoring_kv_t {
    qy_map_t  *index;       //  kind + key + field → entry + 1
    s_entry_t *entries;
    size_t     n, cap;
    qy_map_t  *key_index;   //  key → keys + 1
    s_key_t   *keys;
    size_t     nkeys, keys_cap;
    size_t     event;       //  the event now being counted (+ 1; 0 none)
    char     **strings;     //  strings handed out (answers' values)
    size_t     nstrings, strings_cap;
    qy_buf_t   id;          //  an entry's index key, built again for each look-up
    qy_map_t  *field_sets;  //  key → offset in pool of its fields' entries (scoring_kv_fields)
    size_t    *pool;
    size_t     npool, pool_cap;
};

scoring_kv_t *scoring_kv_new (void)
{
    scoring_kv_t *self = qy_calloc (1, sizeof (*self));
    self->index = qy_map_new ();
    self->key_index = qy_map_new ();
    qy_buf_init (&self->id);
    self->field_sets = qy_map_new ();
    return self;
}

void scoring_kv_destroy (scoring_kv_t **self_p)
{
    scoring_kv_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->n; i++) {
        if (!self->entries [i].borrowed) {
            free (self->entries [i].key);
            free (self->entries [i].field);
        }
        free (self->entries [i].value);
    }
    for (size_t i = 0; i < self->nkeys; i++) {
        free (self->keys [i].key);
        free (self->keys [i].events);
    }
    for (size_t i = 0; i < self->nstrings; i++)
        free (self->strings [i]);
    free (self->strings);
    qy_buf_free (&self->id);
    qy_map_destroy (&self->field_sets);
    free (self->pool);
    free (self->entries);
    free (self->keys);
    qy_map_destroy (&self->index);
    qy_map_destroy (&self->key_index);
    free (self);
    *self_p = NULL;
}

static s_key_t *s_key (scoring_kv_t *self, const char *key)
{
    int64_t at;
    if (qy_map_get (self->key_index, key, &at))
        return &self->keys [at - 1];
    if (self->nkeys == self->keys_cap) {
        self->keys_cap = self->keys_cap ? self->keys_cap * 2 : 32;
        self->keys = qy_realloc (self->keys, self->keys_cap * sizeof (s_key_t));
    }
    s_key_t *k = &self->keys [self->nkeys++];
    memset (k, 0, sizeof (*k));
    k->key = qy_strdup (key);
    qy_map_put (self->key_index, key, (int64_t) self->nkeys);
    return k;
}

//  A new entry (its key and field the caller's to set).
static s_entry_t *s_new_entry (scoring_kv_t *self, s_kind_t kind, size_t keyno)
{
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 64;
        self->entries = qy_realloc (self->entries, self->cap * sizeof (s_entry_t));
    }
    s_entry_t *e = &self->entries [self->n++];
    memset (e, 0, sizeof (*e));
    e->kind = kind;
    e->keyno = keyno;
    return e;
}

static s_entry_t *s_entry (scoring_kv_t *self, s_kind_t kind, const char *key, const char *field)
{
    //  Kind, key and field, without printf or an allocation: counting a
    //  batch looks entries up a hundred times per event.
    char head [2] = { (char) ('0' + kind), '\x1f' };
    qy_buf_reset (&self->id);
    qy_buf_append (&self->id, head, 2);
    qy_buf_puts (&self->id, key);
    qy_buf_append (&self->id, "\x1f", 1);
    if (field)
        qy_buf_puts (&self->id, field);
    const char *id = self->id.data;
    int64_t at;
    if (qy_map_get (self->index, id, &at))
        return &self->entries [at - 1];
    qy_map_put (self->index, id, (int64_t) self->n + 1);
    size_t keyno = (size_t) (s_key (self, key) - self->keys);
    s_entry_t *e = s_new_entry (self, kind, keyno);
    e->key = qy_strdup (key);
    e->field = field ? qy_strdup (field) : NULL;
    return e;
}

//  Note that the event being counted writes key number keyno (for an
//  EXEC error on it).
static void s_touch (scoring_kv_t *self, size_t keyno)
{
    s_key_t *k = &self->keys [keyno];
    if (!self->event || (k->nevents && k->events [k->nevents - 1] == self->event - 1))
        return;
    if (k->nevents == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 4;
        k->events = qy_realloc (k->events, k->cap * sizeof (size_t));
    }
    k->events [k->nevents++] = self->event - 1;
}

//  Keep s (owned) until self is destroyed.
static const char *s_keep_owned (scoring_kv_t *self, char *s)
{
    if (self->nstrings == self->strings_cap) {
        self->strings_cap = self->strings_cap ? self->strings_cap * 2 : 64;
        self->strings = qy_realloc (self->strings, self->strings_cap * sizeof (char *));
    }
    return self->strings [self->nstrings++] = s;
}

//  Replace a value. The old one lives on until self is destroyed: an
//  answer points at the values as they were after its event.
static void s_replace (scoring_kv_t *self, char **at, const char *value)
{
    if (*at)
        s_keep_owned (self, *at);
    *at = value ? qy_strdup (value) : NULL;
}

void scoring_kv_load (scoring_kv_t *self, const char *key, const char *field, const char *value)
{
    s_replace (self, &s_entry (self, S_HASH, key, field)->value, value);
}

void scoring_kv_load_member (scoring_kv_t *self, const char *key, const char *member, bool in)
{
    s_replace (self, &s_entry (self, S_SET, key, member)->value, in ? "1" : NULL);
}

void scoring_kv_load_len (scoring_kv_t *self, const char *key, int64_t len)
{
    s_entry (self, S_LEN, key, NULL)->delta = len;
}

void scoring_kv_break (scoring_kv_t *self, const char *key)
{
    s_key (self, key)->broken = true;
}

bool scoring_kv_broken (scoring_kv_t *self, const char *key)
{
    int64_t at;
    return qy_map_get (self->key_index, key, &at) && self->keys [at - 1].broken;
}

void scoring_kv_event (scoring_kv_t *self, size_t event)
{
    self->event = event + 1;
}

const char *scoring_kv_get (scoring_kv_t *self, const char *key, const char *field)
{
    return s_entry (self, S_HASH, key, field)->value;
}

int64_t scoring_kv_len (scoring_kv_t *self, const char *key)
{
    return s_entry (self, S_LEN, key, NULL)->delta;
}

//  Move key's field count by one when field appears or goes (entries may
//  move: callers look theirs up again after).
static void s_len_move (scoring_kv_t *self, const char *key, bool was, bool is)
{
    if (was != is)
        s_entry (self, S_LEN, key, NULL)->delta += is ? 1 : -1;
}

int64_t scoring_kv_hincr (scoring_kv_t *self, const char *key, const char *field, int64_t by)
{
    s_entry_t *e = s_entry (self, S_HASH, key, field);
    bool was = e->value != NULL;
    int64_t v = (e->value ? strtoll (e->value, NULL, 10) : 0) + by;
    char value [24];
    qy_snprintf (value, sizeof (value), "%lld", (long long) v);
    s_replace (self, &e->value, value);
    e->delta += by;
    e->counter = true;
    size_t keyno = e->keyno;
    s_len_move (self, key, was, true);
    s_touch (self, keyno);
    return v;
}

void scoring_kv_hset_at (scoring_kv_t *self, size_t entry, const char *value)
{
    s_entry_t *e = &self->entries [entry];
    bool was = e->value != NULL;
    s_replace (self, &e->value, value);
    e->set = true;
    size_t keyno = e->keyno;
    s_len_move (self, self->keys [keyno].key, was, value != NULL);
    s_touch (self, keyno);
}

void scoring_kv_hset (scoring_kv_t *self, const char *key, const char *field, const char *value)
{
    scoring_kv_hset_at (self, (size_t) (s_entry (self, S_HASH, key, field) - self->entries), value);
}

bool scoring_kv_sadd (scoring_kv_t *self, const char *key, const char *member)
{
    s_entry_t *e = s_entry (self, S_SET, key, member);
    bool added = !e->value;
    if (added)
        s_replace (self, &e->value, "1");
    e->set = e->set || added;
    s_touch (self, e->keyno);
    return added;
}

void scoring_kv_pfadd (scoring_kv_t *self, const char *key, const char *member)
{
    s_entry_t *e = s_entry (self, S_HLL, key, member);
    e->set = true;
    s_touch (self, e->keyno);
}

void scoring_kv_zincr (scoring_kv_t *self, const char *key, const char *member, int64_t by)
{
    s_entry_t *e = s_entry (self, S_ZSET, key, member);
    e->delta += by;
    e->counter = true;
    s_touch (self, e->keyno);
}

void scoring_kv_expire (scoring_kv_t *self, const char *key, long ttl_s, bool nx)
{
    s_key_t *k = s_key (self, key);
    int mode = nx ? 1 : 2;
    if (mode >= k->mode) {
        k->mode = mode;
        k->ttl_s = ttl_s;
    }
}

const char *scoring_kv_keep (scoring_kv_t *self, const char *s)
{
    return s ? s_keep_owned (self, qy_strdup (s)) : NULL;
}

size_t scoring_kv_fields (scoring_kv_t *self, const char *key, const char *const *names, size_t n)
{
    int64_t at;
    if (qy_map_get (self->field_sets, key, &at))
        return (size_t) at;
    if (self->npool + n > self->pool_cap) {
        self->pool_cap = (self->npool + n) * 2;
        self->pool = qy_realloc (self->pool, self->pool_cap * sizeof (size_t));
    }
    //  A hash nothing was loaded into or written to by name yet: its
    //  fields' entries are made here, reached only through the set (no
    //  look-up key each), their key and field borrowed.
    bool known = qy_map_get (self->key_index, key, NULL);
    size_t keyno = (size_t) (s_key (self, key) - self->keys);
    for (size_t i = 0; i < n; i++) {
        if (known)
            self->pool [self->npool + i] = (size_t) (s_entry (self, S_HASH, key, names [i]) - self->entries);
        else {
            s_entry_t *e = s_new_entry (self, S_HASH, keyno);
            e->key = self->keys [keyno].key;
            e->field = (char *) names [i];
            e->borrowed = true;
            self->pool [self->npool + i] = self->n - 1;
        }
    }
    qy_map_put (self->field_sets, key, (int64_t) self->npool);
    self->npool += n;
    return (size_t) (self->npool - n);
}

size_t scoring_kv_field (const scoring_kv_t *self, size_t set, size_t i)
{
    return self->pool [set + i];
}

void scoring_kv_load_at (scoring_kv_t *self, size_t entry, const char *value)
{
    s_replace (self, &self->entries [entry].value, value);
}

const char *scoring_kv_get_at (const scoring_kv_t *self, size_t entry)
{
    return self->entries [entry].value;
}

size_t scoring_kv_key_events (scoring_kv_t *self, const char *key, const size_t **events)
{
    int64_t at;
    if (!qy_map_get (self->key_index, key, &at)) {
        *events = NULL;
        return 0;
    }
    *events = self->keys [at - 1].events;
    return self->keys [at - 1].nevents;
}

//  Append a command of argc words to *cmds.
static void s_cmd (scoring_cmd_t **cmds, size_t *n, size_t *cap, const char *key, int argc, const char **argv)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        *cmds = qy_realloc (*cmds, *cap * sizeof (scoring_cmd_t));
    }
    scoring_cmd_t *c = &(*cmds) [(*n)++];
    c->key = key;
    c->argc = argc;
    c->argv = qy_calloc ((size_t) argc, sizeof (char *));
    memcpy (c->argv, argv, (size_t) argc * sizeof (char *));
}

//  One key's writes: HSET of the fields set, HDEL of those deleted, SADD
//  and PFADD of the members added (each one command), then HINCRBY and
//  ZINCRBY per field or member (their increments summed).
static void s_key_cmds (scoring_kv_t *self, s_entry_t **es, size_t ne, scoring_cmd_t **cmds, size_t *n, size_t *cap)
{
    static const char *multi [] = { "HSET", "HDEL", "SADD", "PFADD" };
    const char **argv = qy_calloc (2 * ne + 2, sizeof (char *));
    const char *key = es [0]->key;
    for (int m = 0; m < 4; m++) {
        int argc = 2;
        for (size_t i = 0; i < ne; i++) {
            s_entry_t *e = es [i];
            bool hash = e->kind == S_HASH && e->set;
            if ((m == 0 && hash && e->value) || (m == 1 && hash && !e->value) || (m == 2 && e->kind == S_SET && e->set)
                || (m == 3 && e->kind == S_HLL)) {
                argv [argc++] = e->field;
                if (m == 0)
                    argv [argc++] = e->value;
            }
        }
        argv [0] = multi [m];
        argv [1] = key;
        if (argc > 2)
            s_cmd (cmds, n, cap, key, argc, argv);
    }
    for (size_t i = 0; i < ne; i++) {
        s_entry_t *e = es [i];
        if (!e->counter || e->kind == S_LEN)
            continue;
        char by [24];
        qy_snprintf (by, sizeof (by), "%lld", (long long) e->delta);
        bool z = e->kind == S_ZSET;
        const char *inc [] = { z ? "ZINCRBY" : "HINCRBY", key, z ? scoring_kv_keep (self, by) : e->field,
                               z ? e->field : scoring_kv_keep (self, by) };
        s_cmd (cmds, n, cap, key, 4, inc);
    }
    free (argv);
}

size_t scoring_kv_commands (scoring_kv_t *self, scoring_cmd_t **cmds)
{
    //  The entries by key, in the order the keys were first met.
    size_t *start = qy_calloc (self->nkeys + 1, sizeof (size_t));
    s_entry_t **by_key = qy_calloc (self->n + 1, sizeof (s_entry_t *));
    for (size_t i = 0; i < self->n; i++)
        start [self->entries [i].keyno + 1]++;
    for (size_t k = 0; k < self->nkeys; k++)
        start [k + 1] += start [k];
    size_t *fill = qy_calloc (self->nkeys + 1, sizeof (size_t));
    for (size_t i = 0; i < self->n; i++) {
        size_t k = self->entries [i].keyno;
        by_key [start [k] + fill [k]++] = &self->entries [i];
    }
    size_t n = 0, cap = 0;
    *cmds = NULL;
    for (size_t k = 0; k < self->nkeys; k++)
        if (start [k + 1] > start [k])
            s_key_cmds (self, by_key + start [k], start [k + 1] - start [k], cmds, &n, &cap);
    //  Expiries last: a key the writes above create gets its expiry too.
    for (size_t k = 0; k < self->nkeys; k++) {
        s_key_t *key = &self->keys [k];
        if (!key->mode)
            continue;
        char ttl [24];
        qy_snprintf (ttl, sizeof (ttl), "%ld", key->ttl_s);
        const char *argv [] = { "EXPIRE", key->key, scoring_kv_keep (self, ttl), "NX" };
        s_cmd (cmds, &n, &cap, key->key, key->mode == 1 ? 4 : 3, argv);
    }
    free (fill);
    free (by_key);
    free (start);
    return n;
}

void scoring_cmds_free (scoring_cmd_t *cmds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free (cmds [i].argv);
    free (cmds);
}
