/*  =========================================================================
    bench_judge.c - throughput of the whole judge (normalize, vectorscan and
    hand-written detectors, both classifiers, decision) on one thread, over
    the real messages of the three ads files and COLD, repeated for a few
    seconds. No I/O inside the timed loop. Prints messages/s; asserts
    nothing.

        bench_judge [SECONDS]      (data: $QY_SHARED_DATA or the built-in path)
    =========================================================================
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "judge.h"

typedef struct {
    char  **text;
    size_t *len;
    size_t  n, cap, bytes;
} s_corpus_t;

static int
s_load (s_corpus_t *c, const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        fprintf (stderr, "bench_judge: cannot open %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int header = 1;
    while ((got = getline (&line, &cap, file)) >= 0) {
        size_t len = (size_t) got;
        while (len && (line [len - 1] == '\n' || line [len - 1] == '\r'))
            len--;
        if (header) {
            header = 0;
            continue;
        }
        if (len < 2 || line [1] != '\t')
            continue;
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 1 << 16;
            c->text = realloc (c->text, c->cap * sizeof (char *));
            c->len = realloc (c->len, c->cap * sizeof (size_t));
            if (!c->text || !c->len)
                abort ();
        }
        c->text [c->n] = strndup (line + 2, len - 2);
        if (!c->text [c->n])
            abort ();
        c->len [c->n] = len - 2;
        c->bytes += len - 2;
        c->n++;
    }
    free (line);
    fclose (file);
    return 0;
}

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

int
main (int argc, char **argv)
{
    double seconds = argc > 1 ? atof (argv [1]) : 3.0;
    const char *env = getenv ("QY_SHARED_DATA");
    const char *dir = env && *env ? env : QY_SHARED_DATA_DIR;
    const char *files [] = { "ads/game_chat_ads.dev.tsv", "ads/qq_group_ads.dev.tsv",
                             "ads/sms_spam.dev.tsv", "abuse/cold.dev.tsv" };
    s_corpus_t corpus = { 0 };
    for (size_t f = 0; f < sizeof (files) / sizeof (*files); f++) {
        char path [2048];
        snprintf (path, sizeof (path), "%s/%s", dir, files [f]);
        if (s_load (&corpus, path))
            return 1;
    }
    char ad [1024], abuse [1024], err [256] = "";
    judge_model_default_path ("ad", ad, sizeof (ad));
    judge_model_default_path ("abuse", abuse, sizeof (abuse));
    judge_options_t opts = { NULL, ad, abuse };
    size_t nrules;
    const judge_rule_row_t *rules = judge_default_rules (&nrules);
    judge_t *judge = judge_new (rules, nrules, &opts, err, sizeof (err));
    if (!judge) {
        fprintf (stderr, "bench_judge: %s\n", err);
        return 1;
    }
    judge_thresholds_t thresholds = judge_thresholds_default ();
    judge_result_t result;
    size_t done = 0, flagged = 0;
    double start = s_now (), elapsed = 0;
    while (elapsed < seconds) {
        for (size_t i = 0; i < corpus.n; i++) {
            judge_input_t in = { corpus.text [i], corpus.len [i], "text", "member", 1, 0 };
            judge_eval (judge, &in, &result);
            flagged += judge_decide (&thresholds, result.total) != JUDGE_ALLOW;
        }
        done += corpus.n;
        elapsed = s_now () - start;
    }
    printf ("messages=%zu distinct=%zu avg_bytes=%.1f rules=%zu flagged=%.3f seconds=%.2f\n",
            done, corpus.n, (double) corpus.bytes / (double) corpus.n, nrules,
            (double) flagged / (double) done, elapsed);
    printf ("msgs_per_s_per_core=%.0f\n", (double) done / elapsed);
    judge_destroy (&judge);
    for (size_t i = 0; i < corpus.n; i++)
        free (corpus.text [i]);
    free (corpus.text);
    free (corpus.len);
    return 0;
}
