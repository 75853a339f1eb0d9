//  A brand's rule rows with its own lists merged in (moderation_lists):
//  dictionaries of keywords per category, exemptions, allow-listed domains
//  and phone numbers. Pure: the store loads the rows, the judge compiles them.
#include "moderation.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

static char *s_append (const char *pattern, const char *prefix, const char *value)
{
    return qy_printf ("%s%s%s%s", pattern, *pattern ? "\n" : "", prefix, value);
}

static void s_replace (char **field, char *value)
{
    free (*field);
    *field = value;
}

judge_rule_row_t *moderation_rows_merge (const judge_rule_row_t *rows, size_t n,
                                         const moderation_list_row_t *lists, size_t nlists, size_t *n_out)
{
    //  One extra rule per category with a dictionary at most.
    judge_rule_row_t *out = qy_calloc (n + QY_CAT__COUNT + 1, sizeof (judge_rule_row_t));
    size_t k = 0;
    for (size_t i = 0; i < n; i++, k++) {
        out [k] = rows [i];
        out [k].name = qy_strdup (rows [i].name);
        out [k].kind = qy_strdup (rows [i].kind);
        out [k].category = qy_strdup (rows [i].category);
        out [k].pattern = qy_strdup (rows [i].pattern ? rows [i].pattern : "");
    }
    size_t base = k;
    for (size_t l = 0; l < nlists; l++) {
        const moderation_list_row_t *e = &lists [l];
        if (!e->value || !*e->value || strchr (e->value, '\n'))
            continue;
        if (strcmp (e->list, "keyword") == 0) {
            qy_category_t cat = judge_category_parse (e->category);
            if (cat == QY_CAT__COUNT)
                continue;
            //  The dictionary rule weighs what the category's own keyword rule weighs.
            char name [64];
            qy_snprintf (name, sizeof (name), "brand.%s.dict", e->category);
            size_t r = base;
            while (r < k && strcmp (out [r].name, name))
                r++;
            if (r == k) {
                double weight = 1.0;
                for (size_t i = 0; i < base; i++)
                    if (strcmp (out [i].kind, "keyword") == 0 && strcmp (out [i].category, e->category) == 0) {
                        weight = out [i].weight;
                        break;
                    }
                out [k].name = qy_strdup (name);
                out [k].kind = qy_strdup ("keyword");
                out [k].category = qy_strdup (e->category);
                out [k].pattern = qy_strdup ("");
                out [k].weight = weight;
                k++;
            }
            s_replace ((char **) &out [r].pattern, s_append (out [r].pattern, "", e->value));
        }
    }
    //  Exemptions and allow-lists apply to every rule of their kind,
    //  the brand's own dictionaries included.
    for (size_t l = 0; l < nlists; l++) {
        const moderation_list_row_t *e = &lists [l];
        if (!e->value || !*e->value || strchr (e->value, '\n'))
            continue;
        for (size_t r = 0; r < k; r++) {
            const char *kind = out [r].kind;
            bool words = strcmp (kind, "keyword") == 0 || (strcmp (kind, "contact_phrase") == 0 && *out [r].pattern);
            if ((strcmp (e->list, "exempt") == 0 && words)
                || (strcmp (e->list, "allow_domain") == 0 && strcmp (kind, "url") == 0)
                || (strcmp (e->list, "allow_phone") == 0 && strcmp (kind, "phone") == 0))
                s_replace ((char **) &out [r].pattern,
                           s_append (out [r].pattern, strcmp (e->list, "exempt") == 0 ? "!" : "", e->value));
        }
    }
    *n_out = k;
    return out;
}

void moderation_rows_free (judge_rule_row_t **rows_p, size_t n)
{
    if (!rows_p || !*rows_p)
        return;
    for (size_t i = 0; i < n; i++) {
        free ((char *) (*rows_p) [i].name);
        free ((char *) (*rows_p) [i].kind);
        free ((char *) (*rows_p) [i].category);
        free ((char *) (*rows_p) [i].pattern);
    }
    free (*rows_p);
    *rows_p = NULL;
}
