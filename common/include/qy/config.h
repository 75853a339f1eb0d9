//  One config table per service: each row names an option, its type,
//  where it lives in the service's config struct, its default and bounds.
//  Values come from, in rising order: the default, the config file
//  (`key = value` lines, # comments), the environment variable QY_<KEY>
//  (shared by all services, e.g. QY_PG_DSN) and QY_<SERVICE>_<KEY>
//  (e.g. QY_MODERATION_FLOOD_WINDOW_S). Dots in keys become underscores.
//  Each variable has a twin with _FILE appended (QY_PG_DSN_FILE) naming a
//  file that holds the value, for secrets mounted by compose or an
//  orchestrator rather than written into the environment.
#ifndef QY_CONFIG_H
#define QY_CONFIG_H
#include <stddef.h>
#include <stdbool.h>

typedef enum { QY_STR, QY_INT, QY_DBL, QY_BOOL } qy_opt_type_t;

typedef struct {
    const char   *name;
    qy_opt_type_t type;
    size_t        offset;      //  offsetof the field: char * / long / double / bool
    const char   *def;
    double        min, max;    //  bounds for numbers; both 0 means unbounded
    const char   *help;
    //  Optional, for QY_STR rows (give them by name: .choices = "a|b"):
    //  the allowed values, '|'-separated, or a check that returns 0, or -1
    //  with what is allowed in why. A value refused either way stops the
    //  service at start with one line naming the key, the value and why.
    const char   *choices;
    int         (*check) (const char *value, char *why, size_t whylen);
} qy_option_t;

//  Whether value is one of choices ("a|b|c"). Exposed for tools that take
//  the same sets on their command line.
bool qy_config_choice_ok (const char *choices, const char *value);

//  Fill cfg from defaults, file (may be NULL) and environment. Returns 0,
//  or -1 with a message in err naming the option and the bad value.
int qy_config_load (const char *service, const qy_option_t *opts, size_t n,
                    void *cfg, const char *file, char *err, size_t errlen);
//  Set *value to environment variable name, or to the contents of the file
//  named by name_FILE (less its final line end, at most buflen - 1 bytes,
//  copied into buf), or NULL if neither is set. Returns 0, or -1 with a
//  message in err if both are set or the file cannot be read or is too long.
#define QY_CONFIG_FILE_MAX 8192
int qy_config_env (const char *name, char *buf, size_t buflen, const char **value, char *err, size_t errlen);
//  Free the strings qy_config_load allocated.
void qy_config_free (const qy_option_t *opts, size_t n, void *cfg);
//  Log every option's effective value at info level (secrets masked).
void qy_config_log (const qy_option_t *opts, size_t n, const void *cfg);
#endif
