//  qyctl moderation: the judge's offline tools.
#include "qyctl.h"
#include "judge.h"
#include <stdio.h>
#include <string.h>

int qyctl_moderation (int argc, char **argv)
{
    if (argc >= 2 && strcmp (argv [1], "train") == 0)
        return judge_cli_train (argc - 1, argv + 1);
    if (argc >= 2 && strcmp (argv [1], "eval") == 0)
        return judge_cli_eval (argc - 1, argv + 1);
    fprintf (stderr, "usage: qyctl moderation train|eval --category ad|abuse [--model PATH] FILE…\n");
    return 2;
}

