/*  =========================================================================
    judge_eval.h - the judge's offline train / eval command line (library
    qy_judge_train, not the runtime qy_judge): the entry points of
    `qy-judge` and `qyctl moderation train|eval`, and the results of
    `eval` for tests that want the numbers rather than the printed line.
    =========================================================================
*/
#ifndef QY_JUDGE_EVAL_H_INCLUDED
#define QY_JUDGE_EVAL_H_INCLUDED

#include <stddef.h>

//  Offline entry points (argv[0] is "train" or "eval"). Return a process
//  exit code.
int judge_cli_train (int argc, char **argv);
int judge_cli_eval (int argc, char **argv);

typedef struct {
    size_t rows, tp, fp, fn, tn;
    double precision, recall, f1, fpr, msgs_per_s;
} judge_metrics_t;

//  Same arguments as judge_cli_eval; fills *m instead of printing the
//  result lines. Returns 0, or a non-zero exit code.
int judge_cli_eval_metrics (int argc, char **argv, judge_metrics_t *m);

#endif
