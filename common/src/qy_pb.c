#include "qy/pb.h"
#include "qy/util.h"
#include <inttypes.h>
#include <string.h>

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

static void s_hex (qy_buf_t *out, const void *p, size_t n)
{
    qy_buf_puts (out, "\"");
    qy_buf_hex (out, p, n);
    qy_buf_puts (out, "\"");
}

//  One value of field fd at v (a pointer to the value in the message, or
//  to one item of a repeated field's array).
static void s_value (const ProtobufCFieldDescriptor *fd, const void *v, qy_buf_t *out)
{
    switch (fd->type) {
        case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
            qy_buf_printf (out, "%" PRId32, *(const int32_t *) v); break;
        case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
            qy_buf_printf (out, "%" PRIu32, *(const uint32_t *) v); break;
        case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
            qy_buf_printf (out, "%" PRId64, *(const int64_t *) v); break;
        case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
            qy_buf_printf (out, "%" PRIu64, *(const uint64_t *) v); break;
        case PROTOBUF_C_TYPE_FLOAT:
            qy_buf_printf (out, "%.9g", (double) *(const float *) v); break;
        case PROTOBUF_C_TYPE_DOUBLE:
            qy_buf_printf (out, "%.17g", *(const double *) v); break;
        case PROTOBUF_C_TYPE_BOOL:
            qy_buf_puts (out, *(const protobuf_c_boolean *) v ? "true" : "false"); break;
        case PROTOBUF_C_TYPE_ENUM: {
            int value = *(const int *) v;
            const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value (fd->descriptor, value);
            if (!ev) {
                qy_buf_printf (out, "%d", value);
                break;
            }
            char lower [64];
            size_t i = 0;
            for (; ev->name [i] && i + 1 < sizeof (lower); i++)
                lower [i] = (char) (ev->name [i] >= 'A' && ev->name [i] <= 'Z' ? ev->name [i] + 32 : ev->name [i]);
            lower [i] = 0;
            qy_buf_json_str (out, lower);
            break;
        }
        case PROTOBUF_C_TYPE_STRING: {
            const char *s = *(char *const *) v;
            if (qy_utf8_valid (s ? s : ""))
                qy_buf_json_str (out, s ? s : "");
            else
                s_hex (out, s, strlen (s));
            break;
        }
        case PROTOBUF_C_TYPE_BYTES: {
            const ProtobufCBinaryData *b = v;
            s_hex (out, b->data, b->len);
            break;
        }
        case PROTOBUF_C_TYPE_MESSAGE: {
            const ProtobufCMessage *m = *(const ProtobufCMessage *const *) v;
            if (m)
                qy_pb_to_json (m, out);
            else
                qy_buf_puts (out, "null");
            break;
        }
    }
}

//  Whether a singular field holds its default (and is left out).
static bool s_default (const ProtobufCFieldDescriptor *fd, const void *v)
{
    switch (fd->type) {
        case PROTOBUF_C_TYPE_STRING: {
            const char *s = *(char *const *) v;
            return !s || !*s;
        }
        case PROTOBUF_C_TYPE_MESSAGE:
            return *(void *const *) v == NULL;
        case PROTOBUF_C_TYPE_BYTES:
            return ((const ProtobufCBinaryData *) v)->len == 0;
        case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
            return *(const uint64_t *) v == 0;
        case PROTOBUF_C_TYPE_DOUBLE:
            return *(const double *) v == 0;
        case PROTOBUF_C_TYPE_FLOAT:
            return *(const float *) v == 0;
        case PROTOBUF_C_TYPE_BOOL:
            return !*(const protobuf_c_boolean *) v;
        default:        //  32-bit integers and enums
            return *(const uint32_t *) v == 0;
    }
}

static size_t s_size (const ProtobufCFieldDescriptor *fd)
{
    switch (fd->type) {
        case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
            return 8;
        case PROTOBUF_C_TYPE_DOUBLE:
            return sizeof (double);
        case PROTOBUF_C_TYPE_BOOL:
            return sizeof (protobuf_c_boolean);
        case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
            return sizeof (void *);
        case PROTOBUF_C_TYPE_BYTES:
            return sizeof (ProtobufCBinaryData);
        default:
            return 4;
    }
}

void qy_pb_to_json (const ProtobufCMessage *msg, qy_buf_t *out)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    qy_buf_puts (out, "{");
    bool first = true;
    for (unsigned f = 0; f < desc->n_fields; f++) {
        const ProtobufCFieldDescriptor *fd = &desc->fields [f];
        const char *at = (const char *) msg + fd->offset;
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *) ((const char *) msg + fd->quantifier_offset);
            if (!n)
                continue;
            qy_buf_printf (out, "%s\"%s\":[", first ? "" : ",", fd->name);
            const char *items = *(const char *const *) at;
            for (size_t i = 0; i < n; i++) {
                if (i)
                    qy_buf_puts (out, ",");
                s_value (fd, items + i * s_size (fd), out);
            }
            qy_buf_puts (out, "]");
        }
        else {
            if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset
                && fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_MESSAGE
                && !*(const protobuf_c_boolean *) ((const char *) msg + fd->quantifier_offset))
                continue;
            if (s_default (fd, at))
                continue;
            bool is_hex = fd->type == PROTOBUF_C_TYPE_STRING && !qy_utf8_valid (*(char *const *) at);
            qy_buf_printf (out, "%s\"%s%s\":", first ? "" : ",", fd->name, is_hex ? "_hex" : "");
            s_value (fd, at, out);
        }
        first = false;
    }
    qy_buf_puts (out, "}");
}
