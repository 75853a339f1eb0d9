//  The member hash's field names, in the order scoring_count.lua returns
//  them. The scripts themselves are scoring_count.lua and scoring_fold.lua,
//  embedded at build time.
#include "scoring.h"

const char *const scoring_field_names [SCORING_F__COUNT] = {
#define S_NAME(f) #f,
    SCORING_FIELDS (S_NAME)
#undef S_NAME
};
