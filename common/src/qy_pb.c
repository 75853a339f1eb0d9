#include "qy/pb.h"
#include "qy/util.h"

const char *qy_pb_bad_utf8 (const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    for (unsigned f = 0; f < desc->n_fields; f++) {
        const ProtobufCFieldDescriptor *fd = &desc->fields [f];
        if (fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *at = (const char *) msg + fd->offset;
        size_t n = 1;
        void *const *items = (void *const *) at;
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *) ((const char *) msg + fd->quantifier_offset);
            items = *(void *const *const *) at;
        }
        for (size_t i = 0; i < n; i++) {
            if (!items [i])
                continue;
            if (fd->type == PROTOBUF_C_TYPE_STRING) {
                if (!qy_utf8_valid (items [i]))
                    return fd->name;
            }
            else {
                const char *inner = qy_pb_bad_utf8 (items [i]);
                if (inner)
                    return inner;
            }
        }
    }
    return NULL;
}
