//  WeCom's change_external_contact callbacks (企业客户事件): a staff
//  member and a customer become 1:1 contacts, edit, or part. They concern
//  no group, so nothing downstream of ingest takes them: ingest stores
//  them (contacts, contact_events: ingest_gateway.c) and does not send
//  them on. Pure: the fuzz target reaches it through ingest_wecom_parse.
#include "ingest_wecom.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

static const struct {
    const char       *type;      //  WeCom's ChangeType
    const char       *name;      //  contact_events.change
    Qy__ContactChange change;
} s_changes [] = {
    { "add_external_contact",      "added",               QY__CONTACT_CHANGE__CONTACT_ADDED },
    { "edit_external_contact",     "edited",              QY__CONTACT_CHANGE__CONTACT_EDITED },
    { "add_half_external_contact", "half_added",          QY__CONTACT_CHANGE__CONTACT_HALF_ADDED },
    { "del_external_contact",      "deleted_by_staff",    QY__CONTACT_CHANGE__CONTACT_DELETED_BY_STAFF },
    { "del_follow_user",           "deleted_by_customer", QY__CONTACT_CHANGE__CONTACT_DELETED_BY_CUSTOMER },
    { "transfer_fail",             "transfer_failed",     QY__CONTACT_CHANGE__CONTACT_TRANSFER_FAILED },
};

Qy__ContactChange ingest_contact_change (const char *change_type)
{
    for (size_t i = 0; change_type && i < QY_ARRAY_LEN (s_changes); i++)
        if (strcmp (s_changes [i].type, change_type) == 0)
            return s_changes [i].change;
    return QY__CONTACT_CHANGE__CONTACT_CHANGE_UNSPECIFIED;
}

const char *ingest_contact_change_name (Qy__ContactChange change)
{
    for (size_t i = 0; i < QY_ARRAY_LEN (s_changes); i++)
        if (s_changes [i].change == change)
            return s_changes [i].name;
    return NULL;
}

//  A non-empty string member, or NULL.
static const char *s_field (json_t *cb, const char *key)
{
    const char *s = json_string_value (json_object_get (cb, key));
    return s && *s ? s : NULL;
}

//  CreateTime (unix seconds, an integer or a string of digits) in µs; 0 when absent or bad.
static int64_t s_time_us (json_t *cb)
{
    json_t *v = json_object_get (cb, "CreateTime");
    long long t = 0;
    if (json_is_integer (v))
        t = json_integer_value (v);
    else if (json_is_string (v)) {
        char *end;
        t = strtoll (json_string_value (v), &end, 10);
        if (*end)
            t = 0;
    }
    return t > 0 && t < INT64_MAX / 1000000 ? (int64_t) t * 1000000 : 0;
}

static void s_error (ingest_item_t *it, const char *error, const char *field)
{
    it->error = qy_strdup (error);
    it->field = qy_strdup (field);
}

static void s_copy (char **field, const char *value)
{
    if (value)
        *field = qy_strdup (value);
}

//  Why the callback cannot be stored (with the field), or NULL.
static const char *s_problem (json_t *cb, int64_t at_us, int64_t now_us, const char **field)
{
    static const struct { const char *key; size_t max; bool need; const char *error; } s_fields [] = {
        { "ChangeType",     INGEST_MAX_CODE, true,  "missing field: ChangeType" },
        { "UserID",         INGEST_MAX_CODE, true,  "missing field: UserID" },
        { "ExternalUserID", INGEST_MAX_CODE, true,  "missing field: ExternalUserID" },
        { "State",          INGEST_MAX_CODE, false, NULL },
        { "Source",         INGEST_MAX_CODE, false, NULL },
        { "FailReason",     INGEST_MAX_CODE, false, NULL },
    };
    for (size_t k = 0; k < QY_ARRAY_LEN (s_fields); k++) {
        const char *v = s_field (cb, s_fields [k].key);
        *field = s_fields [k].key;
        if (!v && s_fields [k].need)
            return s_fields [k].error;
        if (v && strlen (v) > s_fields [k].max)
            return "field too long (max 128 bytes)";
    }
    *field = "ChangeType";
    if (!ingest_contact_change (s_field (cb, "ChangeType")))
        return "unsupported ChangeType";
    *field = "CreateTime";
    if (!at_us)
        return "missing field: CreateTime (unix seconds)";
    const char *why = ingest_time_problem (at_us, now_us);
    return why ? "bad field: CreateTime" : NULL;
}

void ingest_wecom_contact (ingest_req_t *req, size_t idx, json_t *cb)
{
    ingest_item_t *it = &req->items [idx];
    const char *type = s_field (cb, "ChangeType"), *staff = s_field (cb, "UserID");
    const char *customer = s_field (cb, "ExternalUserID");
    int64_t at_us = s_time_us (cb);
    it->id = ingest_derived_id ("ct:%s:%s:%s:%lld", type ? type : "", staff ? staff : "", customer ? customer : "",
                                (long long) (at_us / 1000000));
    const char *field = NULL, *why = s_problem (cb, at_us, req->now_us, &field);
    if (why) {
        s_error (it, why, field);
        return;
    }
    Qy__Event *ev = ingest_event_new (req->brand);
    ev->kind = QY__KIND__CONTACT;
    ev->contact_change = ingest_contact_change (type);
    ev->event_time_us = at_us;
    s_copy (&ev->msg_id, it->id);
    s_copy (&ev->member, customer);
    s_copy (&ev->staff, staff);
    s_copy (&ev->channel, s_field (cb, "State"));
    //  Why it ended: del_external_contact's Source, transfer_fail's FailReason.
    s_copy (&ev->text, s_field (cb, ev->contact_change == QY__CONTACT_CHANGE__CONTACT_TRANSFER_FAILED ? "FailReason" : "Source"));
    req->contacts = qy_realloc (req->contacts, (req->n_contacts + 1) * sizeof (Qy__Event *));
    req->contact_item = qy_realloc (req->contact_item, (req->n_contacts + 1) * sizeof (size_t));
    req->contacts [req->n_contacts] = ev;
    req->contact_item [req->n_contacts++] = idx;
}
