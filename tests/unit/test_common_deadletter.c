//  qy_deadletter_replay_problem: whether a dead-lettered event may go back
//  through the door it was refused at, as `qyctl deadletters replay` and
//  the console's POST /api/v1/deadletters/<id>/replay both ask it.
#include "qy/deadletter.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static Qy__Event s_event (int64_t brand_id, int64_t group_id)
{
    Qy__Event ev = QY__EVENT__INIT;
    ev.brand = "acme";
    ev.msg_id = "m-1";
    ev.brand_id = brand_id;
    ev.group_id = group_id;
    return ev;
}

static const char *s_problem (const Qy__Event *ev, const char *payload, const char *msg_id, const char *service)
{
    return qy_deadletter_replay_problem (ev, payload, strlen (payload), msg_id, service, "acme", 7);
}

static void test_replayable (void **state)
{
    (void) state;
    Qy__Event ev = s_event (7, 3);
    assert_null (s_problem (&ev, "x", "m-1", "moderation"));
    assert_null (s_problem (&ev, "x", "m-1", "scoring"));
    assert_null (s_problem (&ev, "x", "m-1", "campaign"));
    //  ingest resolves the brand itself: no brand id or group needed
    Qy__Event raw = s_event (0, 0);
    assert_null (s_problem (&raw, "x", "m-1", "ingest"));
}

static void test_not_replayable (void **state)
{
    (void) state;
    assert_string_equal (s_problem (NULL, "{\"brand\":\"acme\"}", "m-1", "ingest"),
                         "not replayable: an item of an HTTP gateway request; the gateway must send it again");
    assert_string_equal (s_problem (NULL, "\x0a\xff", "m-1", "moderation"), "not replayable: the payload is not an event");
    assert_string_equal (s_problem (NULL, "", "m-1", "moderation"), "not replayable: the payload is not an event");
    Qy__Event ev = s_event (7, 3);
    assert_string_equal (s_problem (&ev, "x", "m-2", "scoring"), "not replayable: the payload does not carry the row's msg_id");
    assert_string_equal (s_problem (&ev, "x", "", "scoring"), "not replayable: the payload does not carry the row's msg_id");
    assert_string_equal (qy_deadletter_replay_problem (&ev, "x", 1, "m-1", "scoring", "other", 8),
                         "not replayable: the event names another brand");
    Qy__Event bypassed = s_event (0, 3);
    assert_string_equal (s_problem (&bypassed, "x", "m-1", "moderation"),
                         "not replayable: the event did not come through ingest (no brand_id); send it to ingest");
    Qy__Event nogroup = s_event (7, 0);
    assert_string_equal (s_problem (&nogroup, "x", "m-1", "scoring"), "not replayable: the event has no group_id");
    assert_null (s_problem (&nogroup, "x", "m-1", "moderation"));
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_replayable),
        cmocka_unit_test (test_not_replayable),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
