/*  =========================================================================
    judge_types.c - category names, shared by the judge and its detectors.
    =========================================================================
*/
#include "judge_types.h"
#include "judge_util.h"

static const char *s_category_names [QY_CAT__COUNT] = {
    "ad", "fraud", "gambling", "porn", "abuse", "flood", "spam_wave", "format", "complaint"
};

const char *
judge_category_name (qy_category_t cat)
{
    return (unsigned) cat < QY_CAT__COUNT ? s_category_names [cat] : "none";
}

qy_category_t
judge_category_parse (const char *name)
{
    return (qy_category_t) judge_name_find (s_category_names, QY_CAT__COUNT, name);
}
