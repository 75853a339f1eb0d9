//  Many events in one bus message (qy/pack.h).
#include "qy/pack.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

static uint32_t s_get32 (const uint8_t *b)
{
    return (uint32_t) b [0] << 24 | (uint32_t) b [1] << 16 | (uint32_t) b [2] << 8 | b [3];
}

//  A pack's count when data walks exactly as one (every length within
//  the message, nothing after the last), else 0.
static size_t s_walk (const uint8_t *b, size_t len)
{
    if (len < QY_PACK_HEAD || b [0] != 0x00 || b [1] != 0x01)
        return 0;
    size_t count = (size_t) b [2] << 8 | b [3];
    if (count < 1 || count > QY_PACK_MAX)
        return 0;
    size_t at = QY_PACK_HEAD;
    for (size_t i = 0; i < count; i++) {
        if (len - at < QY_PACK_LEN)
            return 0;
        size_t ev = s_get32 (b + at);
        at += QY_PACK_LEN;
        if (len - at < ev)
            return 0;
        at += ev;
    }
    return at == len ? count : 0;
}

size_t qy_pack_count (const void *data, size_t len)
{
    size_t count = s_walk (data, len);
    return count ? count : 1;
}

void qy_pack_iter (qy_pack_iter_t *it, const void *data, size_t len)
{
    it->at = data;
    it->end = it->at + len;
    it->left = s_walk (data, len);
    it->plain = it->left == 0;
    if (it->plain)
        it->left = 1;
    else
        it->at += QY_PACK_HEAD;
}

bool qy_pack_next (qy_pack_iter_t *it, const void **data, size_t *len)
{
    if (!it->left)
        return false;
    it->left--;
    if (it->plain) {
        *data = it->at;
        *len = (size_t) (it->end - it->at);
        return true;
    }
    //  Walked already: every length is within the message.
    *len = s_get32 (it->at);
    *data = it->at + QY_PACK_LEN;
    it->at += QY_PACK_LEN + *len;
    return true;
}

uint8_t *qy_pack_add (qy_pack_t *p, size_t len)
{
    if (!p->len)
        p->len = QY_PACK_HEAD;
    size_t need = p->len + QY_PACK_LEN + len;
    if (need > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < need)
            cap *= 2;
        p->data = qy_realloc (p->data, cap);
        p->cap = cap;
    }
    uint8_t *b = p->data + p->len;
    b [0] = (uint8_t) (len >> 24);
    b [1] = (uint8_t) (len >> 16);
    b [2] = (uint8_t) (len >> 8);
    b [3] = (uint8_t) len;
    p->len = need;
    p->n++;
    return b + QY_PACK_LEN;
}

size_t qy_pack_seal (qy_pack_t *p, const uint8_t **data)
{
    if (p->n == 1) {
        *data = p->data + QY_PACK_HEAD + QY_PACK_LEN;
        return p->len - QY_PACK_HEAD - QY_PACK_LEN;
    }
    p->data [0] = 0x00;
    p->data [1] = 0x01;
    p->data [2] = (uint8_t) (p->n >> 8);
    p->data [3] = (uint8_t) p->n;
    *data = p->data;
    return p->len;
}

void qy_pack_reset (qy_pack_t *p)
{
    free (p->data);
    memset (p, 0, sizeof (*p));
}
