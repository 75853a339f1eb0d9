//  A brand's judge, assembled in one place (moderation_judge.h).
#include "moderation_judge.h"
#include "qy/log.h"
#include "qy/util.h"
#include <unistd.h>

const char *moderation_judge_model_path (const char *model_dir, const char *category, char *buf, size_t len)
{
    if (model_dir && *model_dir)
        qy_snprintf (buf, len, "%s/%s.model", model_dir, category);
    else
    if (judge_model_default_path (category, buf, len))
        return NULL;
    return access (buf, R_OK) == 0 ? buf : NULL;
}

static judge_t *s_new (const judge_rule_row_t *rows, size_t n, const char *opencc, const char *ad,
                       const char *abuse, char *err, size_t errlen)
{
    judge_options_t o = { opencc, ad, abuse };
    return judge_new (rows, n, &o, err, errlen);
}

//  The brand's rows, step by step: own models, shipped models, none.
//  rows NULL: the brand's rule set is unusable (a flood rule that does
//  not parse), go straight to the built-in rules.
static judge_t *s_with_rows (const char *bid, const judge_rule_row_t *rows, size_t n,
                             const moderation_judge_spec_t *s, moderation_judge_built_t *out, char *err, size_t errlen)
{
    if (!rows)
        return NULL;
    const char *m [MODERATION_MODELS];
    bool own = false;
    for (int i = 0; i < MODERATION_MODELS; i++) {
        out->own_used [i] = s->own [i] != NULL;
        own = own || out->own_used [i];
        m [i] = s->own [i] ? s->own [i] : s->shipped [i];
    }
    judge_t *j = s_new (rows, n, s->opencc_config, m [0], m [1], err, errlen);
    if (!j && own) {
        qy_log_error ("brand=%s learned model rejected, using the shipped one error=%s", bid, err);
        out->own_used [0] = out->own_used [1] = false;
        j = s_new (rows, n, s->opencc_config, s->shipped [0], s->shipped [1], err, errlen);
    }
    if (!j && (s->shipped [0] || s->shipped [1])) {
        char why [256];
        j = s_new (rows, n, s->opencc_config, NULL, NULL, why, sizeof (why));
        if (j) {
            qy_log_error ("brand=%s shipped model rejected, running without it error=%s", bid, err);
            out->degraded = true;
        }
    }
    return j;
}

int moderation_judge_build (const char *bid, const judge_rule_row_t *rows, size_t n,
                            const moderation_judge_spec_t *spec, moderation_judge_built_t *out,
                            char *err, size_t errlen)
{
    *out = (moderation_judge_built_t) { 0 };
    out->judge = s_with_rows (bid, rows, n, spec, out, err, errlen);
    if (!out->judge && spec->strict)
        return -1;
    if (!out->judge) {
        //  A brand is never left unmoderated, nor the pipeline stopped,
        //  because its rules do not load: the built-in rules, loudly.
        //  Its models, step by step as above, still apply to them.
        qy_log_error ("brand=%s rules rejected, running the built-in default rules error=%s", bid, err);
        size_t nd;
        const judge_rule_row_t *def = judge_default_rules (&nd);
        out->judge = s_with_rows (bid, def, nd, spec, out, err, errlen);
        out->default_rules = out->degraded = true;
        if (!out->judge)
            return -1;
    }
    //  A complaint model (`qyctl moderation train --category complaint`)
    //  decides complaints where present; without it, or if it does not
    //  load, the complaint dictionaries do.
    char cerr [256];
    if (spec->complaint && judge_load_model (out->judge, "complaint", spec->complaint, cerr, sizeof (cerr)))
        qy_log_error ("brand=%s complaint model rejected, using the dictionaries error=%s", bid, cerr);
    return 0;
}
