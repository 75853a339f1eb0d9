//  qyctl status: is the chain up, and is work piling up?
//
//  Each service's replicas answer /health and /metrics on their HTTP port.
//  The services come from --services (NAME=URL,…), else $QY_STATUS_SERVICES,
//  else compose's names (bus=http://bus:9100, ingest=http://ingest:9100 …).
//  A name is resolved to every address it has: compose's DNS gives one per
//  replica of a scaled service, so each replica is asked on its own. From
//  /metrics the gauges that say what is waiting or running are shown
//  (queue, inflight, depth, pending, replicas, circuits). From PostgreSQL:
//  dead letters open, deliveries pending (and the oldest's age), dead in
//  the last day, campaign steps overdue. Exit 1 when a replica does not
//  answer healthy (or none is found).
#include "qyctl.h"
#include "qy/pg.h"
#include "qy/util.h"
#include <curl/curl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define S_DEFAULT_SERVICES "bus=http://bus:9100,ingest=http://ingest:9100,moderation=http://moderation:9100," \
                           "scoring=http://scoring:9100,campaign=http://campaign:9100,notifier=http://notifier:9100"
#define S_TIMEOUT_MS 2000L

static size_t s_collect (char *data, size_t size, size_t n, void *arg)
{
    qy_buf_t *b = arg;
    if (b->len < 1 << 20)               //  a metrics page is far smaller; more is not ours to read
        qy_buf_append (b, data, size * n);
    return size * n;
}

//  GET url: the HTTP status (0 when nothing answered) and the body into b.
static long s_get (const char *url, qy_buf_t *b)
{
    CURL *c = curl_easy_init ();
    curl_easy_setopt (c, CURLOPT_URL, url);
    curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, S_TIMEOUT_MS);
    curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt (c, CURLOPT_WRITEDATA, b);
    long code = 0;
    if (curl_easy_perform (c) == CURLE_OK)
        curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup (c);
    return code;
}

//  Whether a metric (its name, before any label) tells what is waiting.
static bool s_interesting (const char *line)
{
    static const char *const words [] = { "queue", "inflight", "depth", "pending", "replicas", "circuits", "backlog" };
    size_t len = strcspn (line, "{ ");
    for (size_t i = 0; i < QY_ARRAY_LEN (words); i++) {
        const char *hit = strstr (line, words [i]);
        if (hit && (size_t) (hit - line) < len)
            return true;
    }
    return false;
}

//  The interesting samples of a metrics page, "name{labels} value; …".
static void s_gauges (const char *page, qy_buf_t *out)
{
    for (const char *line = page; line && *line; ) {
        const char *end = strchr (line, '\n');
        size_t len = end ? (size_t) (end - line) : strlen (line);
        if (*line != '#' && len && s_interesting (line))
            qy_buf_printf (out, "%s%.*s", out->len ? "; " : "", (int) len, line);
        line = end ? end + 1 : NULL;
    }
}

//  One replica as a JSON object appended to rows.
static bool s_replica (qy_buf_t *rows, const char *service, const char *base)
{
    qy_buf_t health, metrics, gauges;
    qy_buf_init (&health);
    qy_buf_init (&metrics);
    qy_buf_init (&gauges);
    char *url = qy_printf ("%s/health", base);
    long code = s_get (url, &health);
    free (url);
    url = qy_printf ("%s/metrics", base);
    if (code)
        s_get (url, &metrics);
    free (url);
    s_gauges (metrics.data ? metrics.data : "", &gauges);
    char *detail = qy_strndup (health.data ? health.data : "", health.data ? strcspn (health.data, "\r\n") : 0);
    qy_buf_puts (rows, rows->len > 1 ? ",{\"service\":" : "{\"service\":");
    qy_buf_json_str (rows, service);
    qy_buf_puts (rows, ",\"replica\":");
    qy_buf_json_str (rows, base);
    qy_buf_printf (rows, ",\"health\":\"%s\",\"http\":%ld,\"detail\":", code == 200 ? "ok" : code ? "unhealthy" : "down", code);
    qy_buf_json_str (rows, code ? detail : "no answer");
    qy_buf_puts (rows, ",\"gauges\":");
    qy_buf_json_str (rows, gauges.data ? gauges.data : "");
    qy_buf_puts (rows, "}");
    free (detail);
    qy_buf_free (&health);
    qy_buf_free (&metrics);
    qy_buf_free (&gauges);
    return code == 200;
}

//  Every address of url's host, each asked as a replica. Returns how many
//  answered healthy; *found: how many there were.
static int s_service (qy_buf_t *rows, const char *name, const char *url, int *found)
{
    const char *h = strstr (url, "://");
    h = h ? h + 3 : url;
    bool v6 = *h == '[';
    size_t hlen = v6 ? strcspn (h + 1, "]") : strcspn (h, ":/");
    char *host = qy_strndup (h + v6, hlen);
    const char *rest = h + hlen + 2 * v6;
    char port [16] = "80";
    if (*rest == ':')
        qy_snprintf (port, sizeof (port), "%.*s", (int) strcspn (rest + 1, "/"), rest + 1);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *list = NULL;
    int healthy = 0;
    *found = 0;
    if (getaddrinfo (host, port, &hints, &list) != 0) {
        char *base = qy_printf ("http://%s:%s", host, port);
        s_replica (rows, name, base);           //  reported down, by its name
        free (base);
        (*found)++;
    }
    for (struct addrinfo *a = list; a; a = a->ai_next) {
        char addr [64];
        if (getnameinfo (a->ai_addr, a->ai_addrlen, addr, sizeof (addr), NULL, 0, NI_NUMERICHOST))
            continue;
        char *base = qy_printf (a->ai_family == AF_INET6 ? "http://[%s]:%s" : "http://%s:%s", addr, port);
        char *quoted = qy_printf ("\"%s\"", base);
        if (!strstr (rows->data, quoted)) {     //  the same address twice (getaddrinfo per protocol)
            healthy += s_replica (rows, name, base);
            (*found)++;
        }
        free (quoted);
        free (base);
    }
    if (list)
        freeaddrinfo (list);
    free (host);
    return healthy;
}

static int s_status (void)
{
    const char *format = qyctl_opt ("format", "table"), *brand = qyctl_arg (0);
    const char *list = qyctl_opt ("services", getenv ("QY_STATUS_SERVICES"));
    char *copy = qy_strdup (list && *list ? list : S_DEFAULT_SERVICES), *save = NULL;
    qy_buf_t rows;
    qy_buf_init (&rows);
    qy_buf_puts (&rows, "[");
    int total = 0, healthy = 0;
    curl_global_init (CURL_GLOBAL_DEFAULT);
    for (char *item = strtok_r (copy, ", ", &save); item; item = strtok_r (NULL, ", ", &save)) {
        char *eq = strchr (item, '=');
        if (!eq || eq == item || !eq [1])
            qyctl_usage_error ("--services: '%s' is not NAME=URL", item);
        *eq = 0;
        int found;
        healthy += s_service (&rows, item, eq + 1, &found);
        total += found;
    }
    curl_global_cleanup ();
    qy_buf_puts (&rows, "]");
    char bid [24] = "";
    if (brand)
        qy_pg_i64 (bid, qyctl_brand_id (brand));
    PGresult *res = qyctl_json_table (rows.data, "service text, replica text, health text, http int, detail text, gauges text");
    qyctl_section ("services", res, format);
    PQclear (res);
    const char *q [] = { brand ? bid : NULL };
    //  Open deliveries as 'pending' OR 'sending', not IN (…): each state has
    //  a partial index of its own (deliveries_pending, deliveries_leased,
    //  migration 052) and only the OR's arms match their predicates; an IN
    //  reads the whole table, delivered history included. Count and age in
    //  one scan: a min () alone is planned as a walk of deliveries_brand
    //  from the brand's oldest row, through all of its history. The last
    //  day's dead: through deliveries_dead (migration 131), the dead rows
    //  alone.
    res = qyctl_exec (
        "SELECT (SELECT count (*) FROM dead_letters WHERE state = 'open' AND ($1::bigint IS NULL OR brand_id = $1)) AS dead_letters_open, "
        "  w.n AS deliveries_pending, coalesce (extract (epoch FROM now () - w.oldest)::bigint, 0) AS oldest_pending_s, "
        "  (SELECT count (*) FROM deliveries WHERE status = 'dead' AND created_at > now () - interval '1 day' "
        "    AND ($1::bigint IS NULL OR brand_id = $1)) AS deliveries_dead_24h, "
        "  (SELECT count (*) FROM campaign_jobs WHERE status = 'pending' AND due_at < now () - interval '5 minutes' "
        "    AND ($1::bigint IS NULL OR brand_id = $1)) AS campaign_steps_overdue "
        "FROM (SELECT count (*) AS n, min (created_at) AS oldest FROM deliveries "
        "      WHERE (status = 'pending' OR status = 'sending') AND ($1::bigint IS NULL OR brand_id = $1)) w", 1, q);
    qyctl_section ("work waiting", res, format);
    qyctl_sections_end (format);
    PQclear (res);
    qy_buf_free (&rows);
    free (copy);
    if (healthy < total || total == 0)
        fprintf (stderr, "qyctl: %d of %d replicas healthy\n", healthy, total);
    return healthy == total && total ? QYCTL_OK : QYCTL_FAILED;
}

int qyctl_status (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    return s_status ();
}

static const qyctl_option_t s_status_opts [] = {
    { "services", QYCTL_VALUE, "N=URL,…", "where to ask (default $QY_STATUS_SERVICES, else compose's names on port 9100)" },
    { NULL }
};
const qyctl_command_t qyctl_status_commands [] = {
    { "status", "[BRAND]", 0, 1, s_status_opts,
      "services' replicas (/health, /metrics gauges) and work waiting in PostgreSQL; exit 1 when one is not healthy" },
    { NULL }
};
