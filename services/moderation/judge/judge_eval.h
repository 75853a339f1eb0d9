/*  =========================================================================
    judge_eval.h - evaluation results of `eval`, for tests that want the
    numbers rather than the printed line. Internal to the judge library.
    =========================================================================
*/
#ifndef QY_JUDGE_EVAL_H_INCLUDED
#define QY_JUDGE_EVAL_H_INCLUDED

#include <stddef.h>

typedef struct {
    size_t rows, tp, fp, fn, tn;
    double precision, recall, f1, fpr, msgs_per_s;
} judge_metrics_t;

//  Same arguments as judge_cli_eval; fills *m instead of printing the
//  result lines. Returns 0, or a non-zero exit code.
int judge_cli_eval_metrics (int argc, char **argv, judge_metrics_t *m);

#endif
