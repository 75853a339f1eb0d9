#!/usr/bin/env bash
# in_image.sh PROGRAM [ARGS…]: run one of the image's programs (named by its
# base name, so a host path works too) in the image test's working container
# with `buildah run --isolation chroot`, on the host's network, with every
# exported QY_* variable of the caller (QY_PG_DSN given as QY_PG_DSN_FILE).
# The program's host pid is written to $QY_RUN/inner/PROGRAM.PID.pid (PID:
# this script's, which qy_start records) so the test can stop it with
# SIGTERM (buildah answers a signal by killing its child outright).
# Needs QYI_BUILDAH (buildah and its storage options) and QYI_CTR.
set -euo pipefail
prog=$(basename "$1"); shift
mkdir -p "$QY_RUN/inner"; chmod 1777 "$QY_RUN/inner"
envs=()
# The DSN goes in as a file, as compose's secret does (QY_PG_DSN_FILE).
if [ -n "${QY_PG_DSN:-}" ]; then
    printf '%s\n' "$QY_PG_DSN" > "$QY_RUN/inner/pg_dsn"; chmod 444 "$QY_RUN/inner/pg_dsn"
    envs+=(--env QY_PG_DSN_FILE=/qy-inner/pg_dsn)
fi
for k in $(compgen -e); do
    case $k in
        QY_MIGRATIONS_DIR|QY_MODEL_DIR|QY_SERVICE_EXEC|QY_ROOT|QY_RUN|QY_BUILD|QY_PG_DSN) ;;   # the image's own, the harness's, the DSN
        QY_*) envs+=(--env "$k=${!k}") ;;
    esac
done
# shellcheck disable=SC2086
exec $QYI_BUILDAH run --isolation chroot --volume "$QY_RUN/inner:/qy-inner" "${envs[@]}" "$QYI_CTR" -- \
    sh -c 'echo $$ > "/qy-inner/$1.pid"; shift; exec "$@"' sh "$prog.$$" "$prog" "$@"
