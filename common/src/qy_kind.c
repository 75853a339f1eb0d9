#include "qy/kind.h"
#include "qy/util.h"
#include <string.h>

static const struct {
    Qy__Kind    kind;
    const char *name;
} s_kinds [] = {
    { QY__KIND__TEXT, "text" },           { QY__KIND__IMAGE, "image" },       { QY__KIND__LINK, "link" },
    { QY__KIND__WEAPP, "weapp" },         { QY__KIND__CARD, "card" },         { QY__KIND__REDPACKET, "redpacket" },
    { QY__KIND__FILE, "file" },           { QY__KIND__VOICE, "voice" },       { QY__KIND__VIDEO, "video" },
    { QY__KIND__EMOTION, "emotion" },     { QY__KIND__REVOKE, "revoke" },     { QY__KIND__QRCODE, "qrcode" },
    { QY__KIND__JOIN, "join" },           { QY__KIND__LEAVE, "leave" },       { QY__KIND__RENAME, "rename" },
    { QY__KIND__PURCHASE, "purchase" },   { QY__KIND__COUPON_REDEEMED, "coupon_redeemed" },
    { QY__KIND__SIGNAL, "signal" },       { QY__KIND__REPORT, "report" },       { QY__KIND__CONTACT, "contact" },
};

const char *qy_kind_name (Qy__Kind kind)
{
    for (size_t i = 0; i < QY_ARRAY_LEN (s_kinds); i++)
        if (s_kinds [i].kind == kind)
            return s_kinds [i].name;
    return "unknown";
}

Qy__Kind qy_kind_parse (const char *name)
{
    for (size_t i = 0; name && i < QY_ARRAY_LEN (s_kinds); i++)
        if (strcmp (s_kinds [i].name, name) == 0)
            return s_kinds [i].kind;
    return QY__KIND__KIND_UNSPECIFIED;
}
