#include "qy/redis_slot.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

//  CRC16/XMODEM (polynomial 0x1021, initial 0), the one Redis Cluster uses.
static uint16_t s_crc16 (const char *buf, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t) ((uint8_t) buf [i] << 8);
        for (int b = 0; b < 8; b++)
            crc = crc & 0x8000 ? (uint16_t) ((crc << 1) ^ 0x1021) : (uint16_t) (crc << 1);
    }
    return crc;
}

int qy_redis_keyslot (const char *key, size_t len)
{
    //  Only the first '{' counts, and an empty tag "{}" hashes the whole key.
    const char *open = memchr (key, '{', len);
    if (open) {
        size_t from = (size_t) (open - key) + 1;
        const char *close = memchr (key + from, '}', len - from);
        if (close && close > key + from)
            return s_crc16 (key + from, (size_t) (close - key) - from) & (QY_REDIS_SLOTS - 1);
    }
    return s_crc16 (key, len) & (QY_REDIS_SLOTS - 1);
}

//  Read a decimal number ended by CRLF at *pos; -1 when malformed.
static long s_resp_num (const char *cmd, size_t len, size_t *pos)
{
    long n = 0;
    size_t p = *pos;
    if (p >= len || cmd [p] < '0' || cmd [p] > '9')
        return -1;
    while (p < len && cmd [p] >= '0' && cmd [p] <= '9' && n < 1000000000)
        n = n * 10 + (cmd [p++] - '0');
    if (p + 1 >= len || cmd [p] != '\r' || cmd [p + 1] != '\n')
        return -1;
    *pos = p + 2;
    return n;
}

//  The next bulk string of a RESP command; false when malformed.
static bool s_resp_arg (const char *cmd, size_t len, size_t *pos, const char **arg, size_t *alen)
{
    if (*pos >= len || cmd [*pos] != '$')
        return false;
    (*pos)++;
    long n = s_resp_num (cmd, len, pos);
    if (n < 0 || *pos + (size_t) n + 2 > len)
        return false;
    *arg = cmd + *pos;
    *alen = (size_t) n;
    *pos += (size_t) n + 2;
    return true;
}

static bool s_is (const char *arg, size_t alen, const char *name)
{
    return alen == strlen (name) && strncasecmp (arg, name, alen) == 0;
}

//  Commands whose argv[1] is not a key (or that have none). Only what a
//  Qunyun process may send; any other command is routed by argv[1].
static bool s_keyless (const char *arg, size_t alen)
{
    static const char *const names [] = { "PING", "INFO", "SCRIPT", "CLUSTER", "ECHO", "TIME", "CONFIG",
                                          "CLIENT", "COMMAND", "DBSIZE", "FLUSHALL", "FLUSHDB", "SCAN",
                                          "KEYS", "AUTH", "HELLO", "SELECT", "ASKING", "READONLY", "MULTI",
                                          "EXEC", "DISCARD", "WAIT", "FUNCTION", "SLOWLOG", "LATENCY" };
    for (size_t i = 0; i < sizeof (names) / sizeof (names [0]); i++)
        if (s_is (arg, alen, names [i]))
            return true;
    return false;
}

int qy_redis_cmd_slot (const char *cmd, size_t len)
{
    size_t pos = 1;
    if (len < 1 || cmd [0] != '*')
        return -1;
    long argc = s_resp_num (cmd, len, &pos);
    const char *arg [4];
    size_t alen [4];
    for (long i = 0; i < argc && i < 4; i++)
        if (!s_resp_arg (cmd, len, &pos, &arg [i], &alen [i]))
            return -1;
    if (argc < 2 || s_keyless (arg [0], alen [0]))
        return -1;
    int key = 1;
    if (s_is (arg [0], alen [0], "EVAL") || s_is (arg [0], alen [0], "EVALSHA")
     || s_is (arg [0], alen [0], "EVAL_RO") || s_is (arg [0], alen [0], "EVALSHA_RO")
     || s_is (arg [0], alen [0], "FCALL") || s_is (arg [0], alen [0], "FCALL_RO")) {
        //  numkeys is argv[2]: no key with 0 (any node runs it).
        if (argc < 4 || alen [2] == 0 || (alen [2] == 1 && arg [2][0] == '0') || arg [2][0] < '0' || arg [2][0] > '9')
            return -1;
        key = 3;
    }
    return qy_redis_keyslot (arg [key], alen [key]);
}

//  "host:port" with the port after the last colon (IPv6 hosts have colons).
static bool s_endpoint (const char *s, size_t len, char *host, size_t hostlen, int *port)
{
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (s [i] == ':')
            colon = s + i;
    if (!colon || (size_t) (colon - s) >= hostlen)
        return false;
    char *end;
    long p = strtol (colon + 1, &end, 10);
    if (end == colon + 1 || end != s + len || p <= 0 || p > 65535)
        return false;
    memcpy (host, s, (size_t) (colon - s));
    host [colon - s] = 0;
    *port = (int) p;
    return true;
}

qy_redirect_kind_t qy_redis_redirect_parse (const char *err, size_t len, qy_redirect_t *out)
{
    memset (out, 0, sizeof (*out));
    qy_redirect_kind_t kind = len > 6 && memcmp (err, "MOVED ", 6) == 0 ? QY_REDIRECT_MOVED
                            : len > 4 && memcmp (err, "ASK ", 4) == 0 ? QY_REDIRECT_ASK : QY_REDIRECT_NONE;
    if (kind == QY_REDIRECT_NONE)
        return kind;
    const char *p = err + (kind == QY_REDIRECT_MOVED ? 6 : 4);
    const char *end = err + len;
    char *after;
    long slot = strtol (p, &after, 10);
    if (after == p || slot < 0 || slot >= QY_REDIS_SLOTS || after >= end || *after != ' ')
        return QY_REDIRECT_NONE;
    after++;
    if (!s_endpoint (after, (size_t) (end - after), out->host, sizeof (out->host), &out->port))
        return QY_REDIRECT_NONE;
    out->kind = kind;
    out->slot = (int) slot;
    return kind;
}

//  One entry of CLUSTER SLOTS: start, end, then the master [host, port, id …].
static bool s_range (const redisReply *e, qy_slot_range_t *out)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3)
        return false;
    const redisReply *s = e->element [0], *t = e->element [1], *m = e->element [2];
    if (s->type != REDIS_REPLY_INTEGER || t->type != REDIS_REPLY_INTEGER || m->type != REDIS_REPLY_ARRAY
     || m->elements < 2 || m->element [0]->type != REDIS_REPLY_STRING || m->element [1]->type != REDIS_REPLY_INTEGER)
        return false;
    if (s->integer < 0 || t->integer < s->integer || t->integer >= QY_REDIS_SLOTS
     || m->element [0]->len >= sizeof (out->host) || m->element [1]->integer <= 0 || m->element [1]->integer > 65535)
        return false;
    out->start = (int) s->integer;
    out->end = (int) t->integer;
    memcpy (out->host, m->element [0]->str, m->element [0]->len);
    out->host [m->element [0]->len] = 0;
    //  "?" is what Redis 7 says of an endpoint it does not know.
    if (strcmp (out->host, "?") == 0)
        out->host [0] = 0;
    out->port = (int) m->element [1]->integer;
    out->replicas = (int) e->elements - 3;
    return true;
}

qy_tx_error_t qy_redis_tx_error (const char *err, size_t len)
{
    static const char *again [] = { "MOVED ", "ASK ", "TRYAGAIN", "CLUSTERDOWN" };
    for (size_t i = 0; i < sizeof (again) / sizeof (again [0]); i++)
        if (len >= strlen (again [i]) && memcmp (err, again [i], strlen (again [i])) == 0)
            return QY_TX_AGAIN;
    if (len >= 9 && memcmp (err, "WRONGTYPE", 9) == 0)
        return QY_TX_WRONGTYPE;
    return QY_TX_AWAY;
}

int qy_redis_slots_parse (const redisReply *r, qy_slot_range_t **ranges)
{
    *ranges = NULL;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return -1;
    qy_slot_range_t *out = qy_calloc (r->elements ? r->elements : 1, sizeof (*out));
    for (size_t i = 0; i < r->elements; i++)
        if (!s_range (r->element [i], &out [i])) {
            free (out);
            return -1;
        }
    *ranges = out;
    return (int) r->elements;
}
