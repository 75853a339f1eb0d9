//  The events of a hop's message (a pack's, or a plain one's), joined
//  with '|', for the unit tests of qy_pack and qy_outlet. Include after
//  cmocka.h.
#ifndef QY_TEST_PACK_JOIN_H
#define QY_TEST_PACK_JOIN_H
#include "qy/pack.h"
#include <string.h>

static void s_pack_join (const void *data, size_t len, char *out, size_t size)
{
    qy_pack_iter_t it;
    const void *ev;
    size_t evlen, used = 0;
    out [0] = 0;
    qy_pack_iter (&it, data, len);
    while (qy_pack_next (&it, &ev, &evlen)) {
        assert_true (used + evlen + 2 < size);
        if (used)
            out [used++] = '|';
        memcpy (out + used, ev, evlen);
        used += evlen;
        out [used] = 0;
    }
}
#endif
