/*  =========================================================================
    qy_judge_main.c - `qy-judge train|eval ...`: the judge's offline entry
    points, usable before (and without) qyctl, which dispatches
    `qyctl moderation train|eval` to the same functions.
    =========================================================================
*/
#include <stdio.h>
#include <string.h>

#include "judge_eval.h"

int
main (int argc, char **argv)
{
    if (argc >= 2 && strcmp (argv [1], "train") == 0)
        return judge_cli_train (argc - 1, argv + 1);
    if (argc >= 2 && strcmp (argv [1], "eval") == 0)
        return judge_cli_eval (argc - 1, argv + 1);
    fprintf (stderr, "usage: qy-judge train|eval --category ad|abuse [options] FILE...\n"
                     "       see docs/moderation-judge.md\n");
    return 2;
}
