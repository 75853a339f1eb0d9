//  The member hash's field names, in SCORING_FIELDS order. The one script
//  left, scoring_fold.lua, is embedded at build time.
#include "scoring.h"

const char *const scoring_field_names [SCORING_F__COUNT] = {
#define S_NAME(f) #f,
    SCORING_FIELDS (S_NAME)
#undef S_NAME
};
