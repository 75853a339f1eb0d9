//  scoring_count_kv: what one counting batch read of Redis and what it
//  will write, kept in memory so the counting itself (scoring_count_tally.c)
//  runs without Redis. Reads are loaded in; the tally reads and writes the
//  current values; the writes come out as one command per key (HINCRBY
//  once per field, its increments summed), so a batch writes each key once
//  however many of its events touched it. A counter whose field was read
//  (its value before the batch known, under the transaction's WATCH) goes
//  into the key's one HSET with its new value instead: a command per
//  field is most of what a counter costs Redis.
//
//  Counting looks entries up dozens of times per event, so this is built
//  for that (perf put the string maps, their look-up keys and one malloc
//  per value at two thirds of scoring's CPU): each key is interned once
//  into a dense number, an entry is found by (key number, kind, field) in
//  an open-addressed table that copies nothing to look up, and every
//  string the kv keeps (keys, fields, values, command words) is bumped
//  out of chunks freed together with the kv.
#include "scoring.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

typedef enum { S_HASH, S_SET, S_ZSET, S_LEN } s_kind_t;

//  One field of a hash (or member of a set, sorted set).
typedef struct {
    const char *field;      //  kept ("" for S_LEN) or borrowed (a field set's names)
    const char *value;      //  current (NULL: absent), kept
    int64_t     delta;      //  HINCRBY / ZINCRBY total; S_LEN: the field count
    uint32_t    keyno;      //  its key in keys
    uint32_t    flen, vlen; //  field's and value's lengths (for the commands)
    uint8_t     kind;
    bool        set;        //  written by HSET / HDEL (value NULL) / SADD
    bool        counter;    //  written by HINCRBY / ZINCRBY
    bool        read;       //  in a read's fields: value is what Redis held (NULL: absent)
} s_entry_t;

//  One key's expiry, and which events wrote the key.
typedef struct {
    const char *key;        //  kept
    size_t      len;
    long        ttl_s;
    int         mode;       //  0 none, 1 EXPIRE NX, 2 EXPIRE
    bool        broken;     //  Redis answered its read with an error
    bool        lasting;    //  read to exist, so with its expiry: no EXPIRE NX
    bool        named;      //  has entries in the index (found by field name)
    size_t      len_entry;  //  its S_LEN entry + 1 (0: none yet)
    size_t      fields;     //  its field set's offset in pool + 1 (0: none)
    size_t     *events;
    size_t      nevents, cap;
} s_key_t;

//  An open-addressed table of numbers (+ 1; 0 empty) with their hashes.
typedef struct {
    uint32_t *at, *hash;
    size_t    cap, n;
} s_table_t;

//  A chunk of kept strings.
typedef struct s_chunk_t {
    struct s_chunk_t *next;
    size_t            used, cap;
    char              data [];
} s_chunk_t;

struct scoring_kv_t {
    s_table_t  entry_index; //  (keyno, kind, field) → entry + 1
    s_entry_t *entries;
    size_t     n, cap;
    s_table_t  key_index;   //  key → keys + 1
    s_key_t   *keys;
    size_t     nkeys, keys_cap;
    size_t     event;       //  the event now being counted (+ 1; 0 none)
    size_t     nbroken;     //  keys broken
    //  The keys last asked for, by where their string is: counting asks
    //  for one event's keys (its scoring_keys_t) over and over.
    struct { const char *at; size_t keyno; } recent [64];
    s_chunk_t *chunks;      //  kept strings (answers' values live as long as the kv)
    size_t    *pool;        //  field sets' entries (scoring_kv_fields)
    size_t     npool, pool_cap;
};

//  ------------------------------------------------------------ helpers
//  A hash of s, eight bytes at a time (keys and fields are 1–30 bytes;
//  qy_hash64 takes one byte at a time), seeded with what else tells
//  entries apart.
static uint64_t s_hash (const char *s, size_t len, uint64_t seed)
{
    uint64_t h = seed ^ (len * 0x9E3779B97F4A7C15ULL);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy (&w, s + i, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
    }
    if (i < len) {
        uint64_t w = 0;
        memcpy (&w, s + i, len - i);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
    }
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    return h ^ (h >> 32);
}

static void s_table_init (s_table_t *t)
{
    t->cap = 256;
    t->n = 0;
    t->at = qy_calloc (t->cap, sizeof (uint32_t));
    t->hash = qy_calloc (t->cap, sizeof (uint32_t));
}

static void s_table_free (s_table_t *t)
{
    free (t->at);
    free (t->hash);
}

//  Put number v (+ 1) with hash h at the first free slot from h (the caller
//  has found it absent); grows the table to keep it at most half full.
static void s_table_put (s_table_t *t, uint32_t h, size_t v)
{
    if ((t->n + 1) * 2 > t->cap) {
        s_table_t g = { qy_calloc (t->cap * 2, sizeof (uint32_t)), qy_calloc (t->cap * 2, sizeof (uint32_t)),
                        t->cap * 2, 0 };
        for (size_t i = 0; i < t->cap; i++)
            if (t->at [i])
                s_table_put (&g, t->hash [i], t->at [i] - 1);
        s_table_free (t);
        *t = g;
    }
    size_t i = h & (t->cap - 1);
    while (t->at [i])
        i = (i + 1) & (t->cap - 1);
    t->at [i] = (uint32_t) v + 1;
    t->hash [i] = h;
    t->n++;
}

//  Room for n bytes that live as long as self.
static char *s_alloc (scoring_kv_t *self, size_t n)
{
    s_chunk_t *c = self->chunks;
    if (!c || c->used + n > c->cap) {
        size_t cap = n > 16384 ? n : 16384;
        c = qy_malloc (sizeof (s_chunk_t) + cap);
        c->next = self->chunks;
        c->used = 0;
        c->cap = cap;
        self->chunks = c;
    }
    char *p = c->data + c->used;
    //  Pointer-aligned, for the command word arrays kept here too.
    c->used += (n + sizeof (void *) - 1) & ~(sizeof (void *) - 1);
    return p;
}

static const char *s_copy (scoring_kv_t *self, const char *s, size_t len)
{
    char *p = s_alloc (self, len + 1);
    memcpy (p, s, len);
    p [len] = '\0';
    return p;
}

//  ------------------------------------------------------- keys, entries
scoring_kv_t *scoring_kv_new (void)
{
    scoring_kv_t *self = qy_calloc (1, sizeof (*self));
    s_table_init (&self->entry_index);
    s_table_init (&self->key_index);
    return self;
}

void scoring_kv_destroy (scoring_kv_t **self_p)
{
    scoring_kv_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->nkeys; i++)
        free (self->keys [i].events);
    while (self->chunks) {
        s_chunk_t *next = self->chunks->next;
        free (self->chunks);
        self->chunks = next;
    }
    s_table_free (&self->entry_index);
    s_table_free (&self->key_index);
    free (self->pool);
    free (self->entries);
    free (self->keys);
    free (self);
    *self_p = NULL;
}

//  Key's number by its string (made when make), or -1.
static long s_keyno_find (scoring_kv_t *self, const char *key, bool make)
{
    size_t len = strlen (key);
    uint32_t h = (uint32_t) s_hash (key, len, 0);
    s_table_t *t = &self->key_index;
    for (size_t i = h & (t->cap - 1); t->at [i]; i = (i + 1) & (t->cap - 1))
        if (t->hash [i] == h && strcmp (self->keys [t->at [i] - 1].key, key) == 0)
            return (long) t->at [i] - 1;
    if (!make)
        return -1;
    if (self->nkeys == self->keys_cap) {
        self->keys_cap = self->keys_cap ? self->keys_cap * 2 : 32;
        self->keys = qy_realloc (self->keys, self->keys_cap * sizeof (s_key_t));
    }
    s_key_t *k = &self->keys [self->nkeys];
    memset (k, 0, sizeof (*k));
    k->key = s_copy (self, key, len);
    k->len = len;
    s_table_put (t, h, self->nkeys);
    return (long) self->nkeys++;
}

//  Key's number, or -1 when make is false and it is not known. A string
//  at the address of one asked for recently is compared with that key
//  first (the address alone proves nothing: a caller may reuse a buffer).
static long s_keyno (scoring_kv_t *self, const char *key, bool make)
{
    size_t slot = ((uintptr_t) key >> 3) % QY_ARRAY_LEN (self->recent);
    if (self->recent [slot].at == key && strcmp (self->keys [self->recent [slot].keyno].key, key) == 0)
        return (long) self->recent [slot].keyno;
    long no = s_keyno_find (self, key, make);
    if (no >= 0) {
        self->recent [slot].at = key;
        self->recent [slot].keyno = (size_t) no;
    }
    return no;
}

size_t scoring_kv_key (scoring_kv_t *self, const char *key)
{
    return (size_t) s_keyno (self, key, true);
}

//  A new entry of key number keyno, not in the index (the caller's to put).
static size_t s_new_entry (scoring_kv_t *self, s_kind_t kind, size_t keyno, const char *field)
{
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 64;
        self->entries = qy_realloc (self->entries, self->cap * sizeof (s_entry_t));
    }
    self->entries [self->n] = (s_entry_t) { .kind = (uint8_t) kind, .keyno = (uint32_t) keyno, .field = field,
                                            .flen = (uint32_t) strlen (field) };
    return self->n++;
}

//  The entry (kind, keyno, field), made if absent (*made then true).
static size_t s_entry_at (scoring_kv_t *self, s_kind_t kind, size_t keyno, const char *field, bool *made)
{
    if (!field)
        field = "";
    size_t len = strlen (field);
    uint32_t h = (uint32_t) s_hash (field, len, ((uint64_t) keyno << 3) | kind);
    s_table_t *t = &self->entry_index;
    for (size_t i = h & (t->cap - 1); t->at [i]; i = (i + 1) & (t->cap - 1)) {
        const s_entry_t *e = &self->entries [t->at [i] - 1];
        if (t->hash [i] == h && e->keyno == keyno && e->kind == kind && strcmp (e->field, field) == 0) {
            if (made)
                *made = false;
            return t->at [i] - 1;
        }
    }
    size_t at = s_new_entry (self, kind, keyno, s_copy (self, field, len));
    s_table_put (t, h, at);
    self->keys [keyno].named = true;
    if (made)
        *made = true;
    return at;
}

static s_entry_t *s_entry (scoring_kv_t *self, s_kind_t kind, const char *key, const char *field)
{
    //  The index first: making the entry may move the entries.
    size_t at = s_entry_at (self, kind, (size_t) s_keyno (self, key, true), field, NULL);
    return &self->entries [at];
}

size_t scoring_kv_entry (scoring_kv_t *self, size_t keyno, const char *field, bool member, bool *made)
{
    size_t at = s_entry_at (self, member ? S_SET : S_HASH, keyno, field, made);
    self->entries [at].read = true;
    return at;
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

//  Replace a value. The old one lives on until self is destroyed: an
//  answer points at the values as they were after its event.
static void s_replace (scoring_kv_t *self, s_entry_t *e, const char *value)
{
    e->vlen = value ? (uint32_t) strlen (value) : 0;
    e->value = value ? s_copy (self, value, e->vlen) : NULL;
}

//  Key number keyno's field count (its S_LEN entry).
static s_entry_t *s_len (scoring_kv_t *self, size_t keyno)
{
    s_key_t *k = &self->keys [keyno];
    if (!k->len_entry) {
        size_t at = s_entry_at (self, S_LEN, keyno, NULL, NULL);
        self->keys [keyno].len_entry = at + 1;
    }
    return &self->entries [k->len_entry - 1];
}

void scoring_kv_load (scoring_kv_t *self, const char *key, const char *field, const char *value)
{
    s_entry_t *e = s_entry (self, S_HASH, key, field);
    s_replace (self, e, value);
    e->read = true;
}

void scoring_kv_load_member (scoring_kv_t *self, const char *key, const char *member, bool in)
{
    s_replace (self, s_entry (self, S_SET, key, member), in ? "1" : NULL);
}

void scoring_kv_load_len (scoring_kv_t *self, const char *key, int64_t len)
{
    s_len (self, (size_t) s_keyno (self, key, true))->delta = len;
}

void scoring_kv_break (scoring_kv_t *self, const char *key)
{
    long k = s_keyno (self, key, true);      //  first: making the key may move the keys
    self->nbroken += !self->keys [k].broken;
    self->keys [k].broken = true;
}

void scoring_kv_lasting (scoring_kv_t *self, const char *key)
{
    long k = s_keyno (self, key, true);      //  first: making the key may move the keys
    self->keys [k].lasting = true;
}

bool scoring_kv_broken (scoring_kv_t *self, const char *key)
{
    long k = s_keyno (self, key, false);
    return k >= 0 && self->keys [k].broken;
}

bool scoring_kv_any_broken (const scoring_kv_t *self)
{
    return self->nbroken > 0;
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
    return s_len (self, (size_t) s_keyno (self, key, true))->delta;
}

//  Move key number keyno's field count by one when a field appears or goes.
static void s_len_move (scoring_kv_t *self, size_t keyno, bool was, bool is)
{
    if (was != is)
        s_len (self, keyno)->delta += is ? 1 : -1;
}

int64_t scoring_kv_hincr (scoring_kv_t *self, const char *key, const char *field, int64_t by)
{
    size_t at = s_entry_at (self, S_HASH, (size_t) s_keyno (self, key, true), field, NULL);
    s_entry_t *e = &self->entries [at];
    bool was = e->value != NULL;
    int64_t v = (e->value ? strtoll (e->value, NULL, 10) : 0) + by;
    char value [24];
    e->vlen = (uint32_t) qy_fmt_i64 (value, v);
    e->value = s_copy (self, value, e->vlen);
    e->delta += by;
    e->counter = true;
    size_t keyno = e->keyno;
    s_len_move (self, keyno, was, true);
    s_touch (self, keyno);
    return v;
}

void scoring_kv_hset_at (scoring_kv_t *self, size_t entry, const char *value)
{
    s_entry_t *e = &self->entries [entry];
    bool was = e->value != NULL;
    s_replace (self, e, value);
    e->set = true;
    size_t keyno = e->keyno;
    s_len_move (self, keyno, was, value != NULL);
    s_touch (self, keyno);
}

void scoring_kv_hset (scoring_kv_t *self, const char *key, const char *field, const char *value)
{
    scoring_kv_hset_at (self, s_entry_at (self, S_HASH, (size_t) s_keyno (self, key, true), field, NULL), value);
}

bool scoring_kv_sadd (scoring_kv_t *self, const char *key, const char *member)
{
    s_entry_t *e = s_entry (self, S_SET, key, member);
    bool added = !e->value;
    if (added)
        s_replace (self, e, "1");
    e->set = e->set || added;
    s_touch (self, e->keyno);
    return added;
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
    long no = s_keyno (self, key, true);     //  first: making the key may move the keys
    s_key_t *k = &self->keys [no];
    int mode = nx ? 1 : 2;
    if (mode >= k->mode) {
        k->mode = mode;
        k->ttl_s = ttl_s;
    }
}

const char *scoring_kv_keep (scoring_kv_t *self, const char *s)
{
    return s ? s_copy (self, s, strlen (s)) : NULL;
}

size_t scoring_kv_fields (scoring_kv_t *self, const char *key, const char *const *names, size_t n)
{
    size_t keyno = (size_t) s_keyno (self, key, true);
    if (self->keys [keyno].fields)
        return self->keys [keyno].fields - 1;
    bool known = self->keys [keyno].named;
    if (self->npool + n > self->pool_cap) {
        self->pool_cap = (self->npool + n) * 2;
        self->pool = qy_realloc (self->pool, self->pool_cap * sizeof (size_t));
    }
    //  A hash nothing was loaded into or written to by name yet (its key
    //  may be known, interned by the reads' plan or an expiry): its
    //  fields' entries are made here, reached only through the set (not
    //  in the index), their field names borrowed.
    for (size_t i = 0; i < n; i++)
        self->pool [self->npool + i] = known ? s_entry_at (self, S_HASH, keyno, names [i], NULL)
                                             : s_new_entry (self, S_HASH, keyno, names [i]);
    self->keys [keyno].fields = self->npool + 1;
    self->npool += n;
    return self->npool - n;
}

size_t scoring_kv_field (const scoring_kv_t *self, size_t set, size_t i)
{
    return self->pool [set + i];
}

void scoring_kv_load_at (scoring_kv_t *self, size_t entry, const char *value)
{
    s_replace (self, &self->entries [entry], value);
    self->entries [entry].read = true;
}

const char *scoring_kv_get_at (const scoring_kv_t *self, size_t entry)
{
    return self->entries [entry].value;
}

size_t scoring_kv_key_events (scoring_kv_t *self, const char *key, const size_t **events)
{
    long k = s_keyno (self, key, false);
    if (k < 0) {
        *events = NULL;
        return 0;
    }
    *events = self->keys [k].events;
    return self->keys [k].nevents;
}

//  ------------------------------------------------------------ commands
//  Append a command of argc words and their lengths (copied into self) to *cmds.
static void s_cmd (scoring_kv_t *self, scoring_cmd_t **cmds, size_t *n, size_t *cap, const char *key, int argc,
                   const char **argv, const size_t *lens)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        *cmds = qy_realloc (*cmds, *cap * sizeof (scoring_cmd_t));
    }
    scoring_cmd_t *c = &(*cmds) [(*n)++];
    c->key = key;
    c->argc = argc;
    const char **words = (const char **) (void *) s_alloc (self, (size_t) argc * sizeof (char *));
    size_t *wlens = (size_t *) (void *) s_alloc (self, (size_t) argc * sizeof (size_t));
    memcpy (words, argv, (size_t) argc * sizeof (char *));
    memcpy (wlens, lens, (size_t) argc * sizeof (size_t));
    c->argv = words;
    c->argvlen = wlens;
}

//  Whether hash field e is written as its value: set, or a counter whose
//  value before the batch was read (its new value is then known).
static bool s_hash_written (const s_entry_t *e)
{
    return e->kind == S_HASH && (e->set || (e->counter && e->read));
}

//  Whether entry e goes into the m-th of HSET, HDEL, SADD.
static bool s_in_multi (const s_entry_t *e, int m)
{
    bool hash = s_hash_written (e);
    return (m == 0 && hash && e->value) || (m == 1 && hash && !e->value) || (m == 2 && e->kind == S_SET && e->set);
}

//  One key's writes: HSET of the fields set and of the counters read, HDEL
//  of those deleted, SADD of the members added (each one
//  command), then HINCRBY and ZINCRBY per field or member not read (their
//  increments summed).
static void s_key_cmds (scoring_kv_t *self, s_entry_t **es, size_t ne, const char **argv, size_t *lens,
                        scoring_cmd_t **cmds, size_t *n, size_t *cap)
{
    static const char *multi [] = { "HSET", "HDEL", "SADD" };
    const s_key_t *k = &self->keys [es [0]->keyno];
    for (int m = 0; m < (int) QY_ARRAY_LEN (multi); m++) {
        int argc = 2;
        for (size_t i = 0; i < ne; i++)
            if (s_in_multi (es [i], m)) {
                lens [argc] = es [i]->flen;
                argv [argc++] = es [i]->field;
                if (m == 0) {
                    lens [argc] = es [i]->vlen;
                    argv [argc++] = es [i]->value;
                }
            }
        argv [0] = multi [m];
        lens [0] = strlen (multi [m]);
        argv [1] = k->key;
        lens [1] = k->len;
        if (argc > 2)
            s_cmd (self, cmds, n, cap, k->key, argc, argv, lens);
    }
    for (size_t i = 0; i < ne; i++) {
        s_entry_t *e = es [i];
        if (!e->counter || e->kind == S_LEN || s_hash_written (e))
            continue;
        char by [24];
        size_t blen = qy_fmt_i64 (by, e->delta);
        const char *delta = s_copy (self, by, blen);
        bool z = e->kind == S_ZSET;
        const char *inc [] = { z ? "ZINCRBY" : "HINCRBY", k->key, z ? delta : e->field, z ? e->field : delta };
        size_t ilens [] = { strlen (inc [0]), k->len, z ? blen : e->flen, z ? e->flen : blen };
        s_cmd (self, cmds, n, cap, k->key, 4, inc, ilens);
    }
}

size_t scoring_kv_commands (scoring_kv_t *self, scoring_cmd_t **cmds)
{
    //  The entries by key, in the order the keys were first met.
    size_t *start = qy_calloc (self->nkeys + 1, sizeof (size_t));
    s_entry_t **by_key = qy_calloc (self->n + 1, sizeof (s_entry_t *));
    const char **argv = qy_calloc (2 * self->n + 2, sizeof (char *));
    size_t *lens = qy_calloc (2 * self->n + 2, sizeof (size_t));
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
            s_key_cmds (self, by_key + start [k], start [k + 1] - start [k], argv, lens, cmds, &n, &cap);
    //  Expiries last: a key the writes above create gets its expiry too.
    for (size_t k = 0; k < self->nkeys; k++) {
        s_key_t *key = &self->keys [k];
        if (!key->mode || (key->mode == 1 && key->lasting))
            continue;
        char ttl [24];
        size_t tlen = qy_fmt_i64 (ttl, key->ttl_s);
        const char *ex [] = { "EXPIRE", key->key, s_copy (self, ttl, tlen), "NX" };
        size_t elens [] = { 6, key->len, tlen, 2 };
        s_cmd (self, cmds, &n, &cap, key->key, key->mode == 1 ? 4 : 3, ex, elens);
    }
    free (lens);
    free (argv);
    free (fill);
    free (by_key);
    free (start);
    return n;
}

void scoring_cmds_free (scoring_cmd_t *cmds, size_t n)
{
    (void) n;       //  the words are the kv's
    free (cmds);
}
