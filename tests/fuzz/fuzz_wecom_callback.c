//  libFuzzer target: what qy-wecom reads from the outside, with no I/O —
//  a callback's outer XML (Encrypt), its decryption under a fixed key and
//  corp id, the decrypted XML as a callback, its mapping for ingest with a
//  groupchat/get answer, and an archive message. The first byte picks the
//  path; the rest is the input. Built and run by run_wecom.sh (ctest
//  fuzz_wecom_callback).
#include "wecom.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *s_group =
    "{\"group_chat\":{\"chat_id\":\"wrA\",\"name\":\"n\",\"owner\":\"o\",\"member_list\":"
    "[{\"userid\":\"wmX\",\"state\":\"s\",\"group_nickname\":\"x\",\"invitor\":{\"userid\":\"o\"}}]}}";

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *in = qy_strndup ((const char *) data + 1, size - 1);
    size_t len = strlen (in);
    unsigned char key [32];
    //  The seed corpus's "encrypted" was made with this key (tests/lib/wecom_vector.sh).
    if (wecom_aes_key ("ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", key))
        abort ();
    char err [128];
    switch (data [0] % 4) {
        case 0: {
            char *enc = wecom_xml_encrypt (in, len);
            free (enc);
            break;
        }
        case 1: {
            char *msg = NULL;
            size_t mlen = 0;
            if (wecom_decrypt (key, in, "wwCorp", &msg, &mlen) == WECOM_OK) {
                if (strlen (msg) > mlen)
                    abort ();
                free (msg);
            }
            break;
        }
        case 2: {
            json_t *cb = wecom_xml_event (in, len, err, sizeof (err)), *g = json_loads (s_group, 0, NULL);
            if (cb) {
                json_t *m = wecom_map_callback (cb, g);
                json_decref (m);
                json_t *list = json_object_get (cb, "MemChangeList");
                json_t *d = json_pack ("{s:O}", "mentions", list ? list : json_null ());
                char *t = wecom_greet_names (g, d, in, NULL);
                free (t);
                json_decref (d);
            }
            json_decref (cb);
            json_decref (g);
            break;
        }
        default: {
            json_t *m = json_loadb (in, len, 0, NULL);
            const char *why = NULL;
            if (json_is_object (m)) {
                json_t *o = wecom_map_archive (m, &why);
                if (!o && !why)
                    abort ();         //  a message not passed on must say why
                json_decref (o);
                (void) wecom_deliver_way (m);
            }
            json_decref (m);
        }
    }
    free (in);
    return 0;
}
