//  scoring_brands: the cache of brands' time zones and settings.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "scoring.h"
#include "qy/util.h"

static void s_put (scoring_brands_t *brands, int64_t id, int tz)
{
    scoring_brand_t b = { .id = id, .tz_offset_min = tz };
    qy_snprintf (b.code, sizeof (b.code), "b%lld", (long long) id);
    scoring_settings_default (&b.settings);
    scoring_brands_put (brands, &b);
}

//  A batch holds one brand pointer per event while later events of the
//  same batch bring in new brands (the cache grows at 8, 16, …): the
//  pointers it holds must still be the brands they were.
static void test_pointers_survive_growth (void **state)
{
    (void) state;
    scoring_brands_t *brands = scoring_brands_new (NULL);
    const scoring_brand_t *held [40];
    for (int64_t id = 1; id <= 40; id++) {
        s_put (brands, id, (int) id * 15);
        held [id - 1] = scoring_brands_get (brands, id);
        assert_non_null (held [id - 1]);
    }
    for (int64_t id = 1; id <= 40; id++) {
        assert_ptr_equal (held [id - 1], scoring_brands_get (brands, id));
        assert_int_equal (held [id - 1]->id, id);
        assert_int_equal (held [id - 1]->tz_offset_min, (int) id * 15);
        char code [16];
        qy_snprintf (code, sizeof (code), "b%lld", (long long) id);
        assert_string_equal (held [id - 1]->code, code);
    }
    //  Without PostgreSQL a forgotten brand cannot be loaded again.
    scoring_brands_forget (brands);
    assert_null (scoring_brands_get (brands, 3));
    scoring_brands_destroy (&brands);
    assert_null (brands);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_pointers_survive_growth),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
