//  Who is asking, and in which scope: sessions (cookie), API tokens
//  (bearer), logins with per-login and per-address backoff, and the SET
//  LOCALs that bind a request's transaction to the user's brand, region
//  and stores (deploy/migrations/099_console_rls.sql).
#include "console_int.h"
#include "qy/log.h"
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

//  Lower-case hex SHA-256 of s (out: 65 bytes).
static void s_sha256_hex (const char *s, char out [65])
{
    unsigned char h [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (h, (const unsigned char *) s, strlen (s));
    sodium_bin2hex (out, 65, h, sizeof (h));
}

//  n random bytes as hex (out: 2n + 1 bytes).
static void s_random_hex (char *out, size_t n)
{
    unsigned char b [64];
    randombytes_buf (b, n);
    sodium_bin2hex (out, 2 * n + 1, b, n);
}

//  Fill who from a row: id, login, role, brand, region, store [, csrf].
static void s_principal (console_req_t *r, PGresult *res, bool token)
{
    console_principal_t *w = &r->who;
    w->user_id = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
    qy_strlcpy (w->login, PQgetvalue (res, 0, 1), sizeof (w->login));
    w->role = console_role_parse (PQgetvalue (res, 0, 2));
    w->brand_id = strtoll (PQgetvalue (res, 0, 3), NULL, 10);
    w->region_id = strtoll (PQgetvalue (res, 0, 4), NULL, 10);
    w->store_id = strtoll (PQgetvalue (res, 0, 5), NULL, 10);
    if (!token)
        qy_strlcpy (w->csrf, PQgetvalue (res, 0, 6), sizeof (w->csrf));
    w->via_token = token;
    r->authed = w->role != 0;
}

//  The value of cookie name in the Cookie header (MHD parses it).
static const char *s_cookie (console_req_t *r)
{
    return MHD_lookup_connection_value (r->conn, MHD_COOKIE_KIND, "qy_session");
}

bool console_auth_lookup (console_req_t *r)
{
    const char *auth = MHD_lookup_connection_value (r->conn, MHD_HEADER_KIND, "Authorization");
    char h [65];
    if (auth && strncmp (auth, "Bearer ", 7) == 0) {
        s_sha256_hex (auth + 7, h);
        const char *p [] = { h };
        PGresult *res = console_sql (r, "UPDATE console_tokens t SET last_used_at = now () FROM console_users u "
                                     "WHERE u.id = t.user_id AND t.token_sha256 = $1 AND t.revoked_at IS NULL "
                                     "AND t.expires_at > now () AND NOT u.disabled "
                                     "RETURNING u.id, u.login, t.role, coalesce (u.brand_id, 0), coalesce (u.region_id, 0), "
                                     "coalesce (u.store_id, 0)", 1, p);
        if (res && PQntuples (res) == 1)
            s_principal (r, res, true);
        PQclear (res);
        return r->authed;
    }
    const char *sid = s_cookie (r);
    if (!sid || strlen (sid) != 64)
        return false;
    s_sha256_hex (sid, h);
    const char *p [] = { h };
    PGresult *res = console_sql (r, "UPDATE console_sessions s SET seen_at = now () FROM console_users u "
                                 "WHERE u.id = s.user_id AND s.id_sha256 = $1 AND s.expires_at > now () AND NOT u.disabled "
                                 "RETURNING u.id, u.login, u.role, coalesce (u.brand_id, 0), coalesce (u.region_id, 0), "
                                 "coalesce (u.store_id, 0), s.csrf", 1, p);
    if (res && PQntuples (res) == 1)
        s_principal (r, res, false);
    PQclear (res);
    return r->authed;
}

//  A platform admin may act as the HQ of one brand (?brand=CODE).
static bool s_admin_brand (console_req_t *r)
{
    const char *code = console_arg (r, "brand");
    if (r->who.role != CONSOLE_ADMIN || !code)
        return true;
    const char *p [] = { code };
    PGresult *res = console_sql (r, "SELECT id FROM brands WHERE code = $1", 1, p);
    if (!res)
        return false;
    bool found = PQntuples (res) == 1;
    if (found)
        r->who.brand_id = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    if (!found)
        console_error (r, 404, "no such brand");
    return found;
}

bool console_auth_scope (console_req_t *r)
{
    PGresult *res = console_sql (r, "BEGIN", 0, NULL);
    PQclear (res);
    if (!res)
        return false;
    const console_principal_t *w = &r->who;
    const char *role = console_role_name (w->role);
    if (w->role == CONSOLE_ADMIN) {
        PQclear (console_sql (r, "SELECT set_config ('qy.admin', 'on', true)", 0, NULL));
        if (!s_admin_brand (r))
            return false;
        //  An admin who named a brand is scoped as that brand's HQ.
        if (w->brand_id) {
            PQclear (console_sql (r, "SELECT set_config ('qy.admin', '', true)", 0, NULL));
            role = "hq";
        }
    }
    char brand [24] = "", region [24] = "", stores [24] = "";
    if (w->brand_id)
        qy_snprintf (brand, sizeof (brand), "%lld", (long long) w->brand_id);
    if (w->region_id)
        qy_snprintf (region, sizeof (region), "%lld", (long long) w->region_id);
    if (w->store_id)
        qy_snprintf (stores, sizeof (stores), "%lld", (long long) w->store_id);
    const char *p [] = { brand, role, region, stores };
    res = console_sql (r, "SELECT set_config ('qy.brand_id', $1, true), set_config ('qy.role', $2, true), "
                       "set_config ('qy.region_id', $3, true), set_config ('qy.store_ids', $4, true)", 4, p);
    PQclear (res);
    return res != NULL;
}

//  ------------------------------------------------------------ login

static const char *s_str (json_t *o, const char *key)
{
    json_t *v = json_object_get (o, key);
    return json_is_string (v) ? json_string_value (v) : NULL;
}

//  Seconds either key is still locked for (0: free).
static long s_locked (console_req_t *r, const char *k1, const char *k2)
{
    const char *p [] = { k1, k2 };
    PGresult *res = console_sql (r, "SELECT coalesce (ceil (extract (epoch FROM max (locked_until) - now ())), 0)::bigint "
                                 "FROM console_login_failures WHERE key IN ($1, $2) AND locked_until > now ()", 2, p);
    long s = res ? atol (PQgetvalue (res, 0, 0)) : -1;
    PQclear (res);
    return s;
}

//  Count a failure against key; failures older than an hour start again.
static void s_fail (console_req_t *r, const char *key, long threshold)
{
    const char *p [] = { key };
    PGresult *res = console_sql (r, "INSERT INTO console_login_failures AS f (key, failures) VALUES ($1, 1) "
                                 "ON CONFLICT (key) DO UPDATE SET failures = CASE WHEN f.last_at < now () - interval '1 hour' "
                                 "THEN 1 ELSE f.failures + 1 END, last_at = now () RETURNING failures", 1, p);
    if (!res)
        return;
    long n = atol (PQgetvalue (res, 0, 0));
    PQclear (res);
    long s = console_lockout_s (n, threshold, r->cfg->lockout_base_s, r->cfg->lockout_cap_s);
    if (s > 0) {
        char secs [24];
        qy_snprintf (secs, sizeof (secs), "%ld", s);
        const char *lp [] = { key, secs };
        PQclear (console_sql (r, "UPDATE console_login_failures SET locked_until = now () + make_interval (secs => $2::int) "
                              "WHERE key = $1", 2, lp));
        qy_log_limited (QY_LOG_WARN, "login locked key=%s failures=%ld seconds=%ld", key, n, s);
    }
}

//  Check the password against the user's hash; an unknown login is checked
//  against a throw-away hash so both take the same time.
static bool s_verify (const char *hash, const char *password)
{
    static char dummy [crypto_pwhash_STRBYTES];
    if (!hash) {
        if (!dummy [0])
            console_password_hash ("qy-no-such-user", dummy);
        hash = dummy;
    }
    return crypto_pwhash_str_verify (hash, password, strlen (password)) == 0;
}

static void s_session (console_req_t *r)
{
    char sid [65], h [65], csrf [65], uid [24], ttl [24];
    s_random_hex (sid, 32);
    s_random_hex (csrf, 32);
    s_sha256_hex (sid, h);
    qy_snprintf (uid, sizeof (uid), "%lld", (long long) r->who.user_id);
    qy_snprintf (ttl, sizeof (ttl), "%ld", r->cfg->session_ttl_s);
    const char *p [] = { h, uid, csrf, r->addr, ttl };
    PGresult *res = console_sql (r, "INSERT INTO console_sessions (id_sha256, user_id, csrf, address, expires_at) "
                                 "VALUES ($1, $2, $3, $4, now () + make_interval (secs => $5::int))", 5, p);
    if (!res)
        return;
    PQclear (res);
    PQclear (console_sql (r, "DELETE FROM console_sessions WHERE expires_at < now () - interval '1 day'", 0, NULL));
    qy_strlcpy (r->who.csrf, csrf, sizeof (r->who.csrf));
    r->cookie = qy_printf ("qy_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%ld%s", sid,
                           r->cfg->session_ttl_s, r->cfg->secure_cookie ? "; Secure" : "");
}

void console_auth_login (console_req_t *r)
{
    const char *login = s_str (r->json, "login"), *password = s_str (r->json, "password");
    if (!login || !password || !*login || strlen (login) > 100 || strlen (password) > 1024) {
        console_error (r, 400, "send {\"login\": …, \"password\": …}");
        return;
    }
    char kl [160], ka [96];
    qy_snprintf (kl, sizeof (kl), "login:%s", login);
    qy_snprintf (ka, sizeof (ka), "addr:%s", r->addr);
    long locked = s_locked (r, kl, ka);
    if (locked) {
        if (locked > 0)
            console_error (r, 429, "too many failed logins: try again in %ld s", locked);
        return;
    }
    const char *p [] = { login };
    PGresult *res = console_sql (r, "SELECT id, login, role, coalesce (brand_id, 0), coalesce (region_id, 0), "
                                 "coalesce (store_id, 0), '', password_hash FROM console_users WHERE login = $1 AND NOT disabled", 1, p);
    if (!res)
        return;
    bool known = PQntuples (res) == 1;
    if (!s_verify (known ? PQgetvalue (res, 0, 7) : NULL, password)) {
        PQclear (res);
        s_fail (r, kl, r->cfg->login_threshold);
        s_fail (r, ka, r->cfg->address_threshold);
        qy_log_limited (QY_LOG_INFO, "login failed login=%s addr=%s", login, r->addr);
        console_error (r, 401, "wrong login or password");
        r->failed = false;          //  the failure counts must be committed
        return;
    }
    s_principal (r, res, false);
    PQclear (res);
    PQclear (console_sql (r, "DELETE FROM console_login_failures WHERE key = $1", 1, (const char *[]) { kl }));
    s_session (r);
    if (r->cookie && console_auth_scope (r) && console_audit (r, console_brand_of (r, NULL),
                                                              "session.login", "console_user", login, NULL))
        console_auth_me (r);
}

void console_auth_logout (console_req_t *r)
{
    char h [65];
    const char *sid = s_cookie (r);
    s_sha256_hex (sid ? sid : "", h);
    PQclear (console_sql (r, "DELETE FROM console_sessions WHERE id_sha256 = $1", 1, (const char *[]) { h }));
    //  A mutation like any other: in the audit log (docs/api.md), in the
    //  scope the route set.
    if (!console_audit (r, console_brand_of (r, NULL), "session.logout", "console_user", r->who.login, NULL))
        return;
    r->cookie = qy_printf ("qy_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s", r->cfg->secure_cookie ? "; Secure" : "");
    qy_buf_puts (&r->out, "{\"ok\":true}\n");
    r->status = 200;
    r->type = "application/json";
}

void console_auth_me (console_req_t *r)
{
    char uid [24];
    qy_snprintf (uid, sizeof (uid), "%lld", (long long) r->who.user_id);
    const char *p [] = { uid, r->who.csrf, console_role_name (r->who.role) };
    console_sql_json (r, "user",
        "SELECT json_build_object ('authenticated', true, 'login', u.login, 'role', $3::text, 'csrf', nullif ($2, ''), "
        "  'brand', b.code, 'brand_name', b.name, 'region', g.code, 'region_name', g.name, "
        "  'store', s.code, 'store_name', s.name) "
        "FROM console_users u LEFT JOIN brands b ON b.id = u.brand_id LEFT JOIN regions g ON g.id = u.region_id "
        "LEFT JOIN stores s ON s.id = u.store_id WHERE u.id = $1", 3, p);
}

//  ------------------------------------------------------------ API tokens

void console_tokens_list (console_req_t *r)
{
    char uid [24];
    qy_snprintf (uid, sizeof (uid), "%lld", (long long) r->who.user_id);
    console_sql_json (r, "user",
        "SELECT json_build_object ('items', coalesce (json_agg (json_build_object ('id', id, 'name', name, 'role', role, "
        "  'expires_at', expires_at, 'revoked_at', revoked_at, 'created_at', created_at, 'last_used_at', last_used_at) "
        "  ORDER BY id), '[]')) FROM console_tokens WHERE user_id = $1", 1, (const char *[]) { uid });
}

void console_tokens_create (console_req_t *r)
{
    //  A token makes no tokens: a leaked one could otherwise outlive its revocation.
    if (r->who.via_token) {
        console_error (r, 403, "API tokens cannot create tokens");
        return;
    }
    const char *name = s_str (r->json, "name"), *role = s_str (r->json, "role");
    json_t *days_j = json_object_get (r->json, "days");
    long days = json_is_integer (days_j) ? (long) json_integer_value (days_j) : 30;
    console_role_t want = role ? console_role_parse (role) : r->who.role;
    if (!name || !*name || strlen (name) > 100 || days < 1 || days > 365 || (days_j && !json_is_integer (days_j))) {
        console_error (r, 400, "send {\"name\": …, \"days\": 1–365, \"role\": optional}");
        return;
    }
    if (!console_token_role_ok (r->who.role, want)) {
        console_error (r, 403, "a %s may make tokens of its own role or reviewer only", console_role_name (r->who.role));
        return;
    }
    char token [80], hex [65], h [65], uid [24], d [24];
    s_random_hex (hex, 32);
    qy_snprintf (token, sizeof (token), "qyt_%s", hex);
    s_sha256_hex (token, h);
    qy_snprintf (uid, sizeof (uid), "%lld", (long long) r->who.user_id);
    qy_snprintf (d, sizeof (d), "%ld", days);
    const char *p [] = { uid, name, h, console_role_name (want), d, token };
    console_sql_json (r, "token",
        "WITH t AS (INSERT INTO console_tokens (user_id, name, token_sha256, role, expires_at) "
        "  VALUES ($1, $2, $3, $4, now () + make_interval (days => $5::int)) RETURNING id, expires_at) "
        "SELECT json_build_object ('id', id, 'token', $6::text, 'role', $4::text, 'expires_at', expires_at) FROM t", 6, p);
    if (r->status == 200) {
        r->status = 201;
        char detail [256];
        qy_snprintf (detail, sizeof (detail), "{\"role\":\"%s\",\"days\":%ld}", console_role_name (want), days);
        console_audit (r, console_brand_of (r, NULL), "token.create", "console_token", name, detail);
    }
}

void console_tokens_revoke (console_req_t *r)
{
    char uid [24];
    qy_snprintf (uid, sizeof (uid), "%lld", (long long) r->who.user_id);
    const char *p [] = { r->seg [1], uid };
    console_sql_json (r, "token",
        "UPDATE console_tokens SET revoked_at = now () WHERE id = $1::bigint AND user_id = $2 AND revoked_at IS NULL "
        "RETURNING json_build_object ('id', id, 'revoked_at', revoked_at)", 2, p);
    if (r->status == 200)
        console_audit (r, console_brand_of (r, NULL), "token.revoke", "console_token", r->seg [1], NULL);
}
