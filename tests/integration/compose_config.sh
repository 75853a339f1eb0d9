#!/usr/bin/env bash
# The compose file must be valid and deployable as issue 18 §3 asks: every
# service defined, with a health check on /readyz where it serves one;
# restart policies on Redis and PostgreSQL; secrets from files, never
# inline; no published port but the gateways' proxy (ingest scales behind
# it); log rotation and resource limits everywhere; Redis's AOF with its
# fsync policy; Prometheus in the monitoring profile, finding every
# service's replicas through compose's DNS; Grafana in it behind its login,
# on loopback, reading PostgreSQL as the read-only role. The proxy's configuration is
# checked with haproxy -c, Prometheus's with promtool check config.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
command -v docker-compose >/dev/null || { echo "docker-compose is not installed"; exit 1; }
command -v haproxy >/dev/null || { echo "haproxy is not installed (QY_PACKAGES)"; exit 1; }
out=$(mktemp); sec=$(mktemp -d); trap 'rm -rf "$out" "$sec"' EXIT
# deploy/make-secrets.sh makes the two secrets the file names: a password,
# and a DSN holding that same password; a second run keeps them.
sh "$root/deploy/make-secrets.sh" "$sec/secrets" >/dev/null
pw=$(cat "$sec/secrets/pg_password")
[ "${#pw}" -ge 32 ] || { echo "make-secrets.sh: password too short"; exit 1; }
[ "$(cat "$sec/secrets/pg_dsn")" = "host=postgres port=5432 dbname=qunyun user=qunyun password=$pw" ] \
    || { echo "make-secrets.sh: pg_dsn does not hold pg_password"; exit 1; }
sh "$root/deploy/make-secrets.sh" "$sec/secrets" >/dev/null
[ "$(cat "$sec/secrets/pg_password")" = "$pw" ] || { echo "make-secrets.sh: a second run changed the password"; exit 1; }
for f in grafana_admin_password grafana_pg_password pg_monitor_password; do
    [ "$(wc -c < "$sec/secrets/$f")" -ge 32 ] || { echo "make-secrets.sh: $f missing or short"; exit 1; }
done
[ "$(stat -c %a "$sec/secrets")" = 700 ] || { echo "make-secrets.sh: the folder is open to others"; exit 1; }
(cd "$root" && docker-compose --profile monitoring -f docker-compose.yml config) > "$out"
haproxy -c -q -f "$root/deploy/haproxy.cfg" || { echo "deploy/haproxy.cfg is not valid"; exit 1; }
command -v promtool >/dev/null || { echo "promtool is not installed (QY_PACKAGES: prometheus)"; exit 1; }
promtool check config "$root/deploy/prometheus.yml" >/dev/null || { echo "deploy/prometheus.yml is not valid"; exit 1; }
python3 - "$out" "$root/deploy/prometheus.yml" "$root/deploy/grafana/provisioning/datasources/qunyun.yml" <<'PY'
import re, sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
prom = yaml.safe_load(open(sys.argv[2]))
svcs = cfg["services"]
bad = []
def need(cond, what):
    if not cond: bad.append(what)
for s in "redis postgres migrate bus ingest gateway-proxy moderation scoring campaign notifier housekeeper".split():
    need(s in svcs, f"service {s} missing")
for s in "bus ingest moderation scoring campaign notifier".split():
    test = " ".join(svcs.get(s, {}).get("healthcheck", {}).get("test", []))
    need("/readyz" in test, f"{s}: no healthcheck on /readyz")
for s in "redis postgres".split():
    need(svcs[s].get("restart") in ("always", "unless-stopped"), f"{s}: no restart policy")
for name, s in svcs.items():
    need(s.get("logging", {}).get("options", {}).get("max-size"), f"{name}: no log rotation (logging.options.max-size)")
    need(s.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory"), f"{name}: no memory limit")
    # Secrets: nothing that looks like a password in the environment.
    for k, v in (s.get("environment") or {}).items():
        need(not re.search(r"password\s*=", str(v), re.I), f"{name}: {k} holds a password inline")
        need(not re.search(r"PASSWORD$|TOKEN$|SECRET$|_DSN$", k), f"{name}: {k} set inline (use {k}_FILE and secrets:)")
    # Published ports: only the gateways' proxy, whose doors are authenticated
    # (signed requests, WeCom's signature), the console (sessions, tokens),
    # and Grafana's login on the host's loopback (checked below).
    need(name in ("gateway-proxy", "console", "grafana") or not s.get("ports"), f"{name}: publishes {s.get('ports')}")
env = svcs["postgres"].get("environment", {})
need(env.get("POSTGRES_PASSWORD_FILE", "").startswith("/run/secrets/"), "postgres: password not from a secret")
for s in "migrate bus ingest moderation scoring campaign notifier housekeeper".split():
    need(svcs[s].get("environment", {}).get("QY_PG_DSN_FILE", "").startswith("/run/secrets/"), f"{s}: QY_PG_DSN_FILE not from a secret")
    need(any((x.get("source") if isinstance(x, dict) else x) == "pg_dsn" for x in svcs[s].get("secrets", [])), f"{s}: secret pg_dsn not given")
for sec in cfg.get("secrets", {}).values():
    need("file" in sec or "external" in sec, "a secret neither from a file nor external")
cmd = " ".join(svcs["redis"].get("command", []))
need("--appendonly yes" in cmd, "redis: AOF not on")
need(re.search(r"--appendfsync (everysec|always)", cmd), "redis: AOF fsync policy not stated")
# The monitoring profile: Prometheus only when asked for, scraping every
# service (all replicas, through compose's DNS) on the port they serve.
need(svcs.get("prometheus", {}).get("profiles") == ["monitoring"], "prometheus: not in the monitoring profile")
sd = [c for job in prom.get("scrape_configs", []) for c in job.get("dns_sd_configs", [])]
named = {n for c in sd for n in c.get("names", [])}
want = {s for s in svcs if " ".join(svcs[s].get("healthcheck", {}).get("test", [])).find("/readyz") >= 0}
need(want <= named, f"prometheus.yml: not scraped: {sorted(want - named)}")
need(all(str(c.get("port")) == svcs["bus"]["environment"]["QY_HTTP_PORT"] for c in sd), "prometheus.yml: port is not QY_HTTP_PORT")
# Grafana: in the profile, behind its login (admin password from a secret,
# no anonymous access, no sign-up), published on loopback only; its
# PostgreSQL source is the read-only role with its password from a secret.
gf = svcs.get("grafana", {})
need(gf.get("profiles") == ["monitoring"] and svcs.get("grafana-role", {}).get("profiles") == ["monitoring"],
     "grafana, grafana-role: not in the monitoring profile")
need(re.match(r"grafana/grafana(-oss)?:\d+\.\d+\.\d+$", gf.get("image", "")), "grafana: image not pinned to a version")
genv = gf.get("environment", {})
need(genv.get("GF_SECURITY_ADMIN_PASSWORD__FILE", "").startswith("/run/secrets/"), "grafana: admin password not from a secret")
need(str(genv.get("GF_AUTH_ANONYMOUS_ENABLED")).lower() == "false", "grafana: anonymous access not off")
need(str(genv.get("GF_USERS_ALLOW_SIGN_UP")).lower() == "false", "grafana: sign-up not off")
for p in gf.get("ports", []):
    host = p.get("host_ip") if isinstance(p, dict) else str(p).split(":")[0]
    need(host == "127.0.0.1", f"grafana: published beyond loopback: {p}")
ds = yaml.safe_load(open(sys.argv[3]))["datasources"]
pgds = [d for d in ds if d["type"] == "postgres"]
need(len(pgds) == 1 and pgds[0].get("user") == "qy_grafana", "grafana: the PostgreSQL source is not the role qy_grafana")
need(all(d.get("secureJsonData", {}).get("password", "").startswith("$__file{/run/secrets/") for d in pgds),
     "grafana: the PostgreSQL password not from a secret file")
# The exporters: in the profile, pinned, scraped; PostgreSQL's as
# qy_monitor with its password from a secret.
for x, port in (("redis-exporter", 9121), ("postgres-exporter", 9187)):
    need(svcs.get(x, {}).get("profiles") == ["monitoring"], f"{x}: not in the monitoring profile")
    need(re.search(r":v\d+\.\d+\.\d+$", svcs.get(x, {}).get("image", "")), f"{x}: image not pinned to a version")
    need(any(t == f"{x}:{port}" for j in prom["scrape_configs"] for c in j.get("static_configs", []) for t in c["targets"]),
         f"prometheus.yml: {x} not scraped")
pex = svcs.get("postgres-exporter", {}).get("environment", {})
need(pex.get("DATA_SOURCE_USER") == "qy_monitor" and pex.get("DATA_SOURCE_PASS_FILE", "").startswith("/run/secrets/"),
     "postgres-exporter: not qy_monitor with its password from a secret")
proxy_ports = svcs["gateway-proxy"].get("ports", [])
need(len(proxy_ports) == 2, "gateway-proxy: two published ports expected (gateways, WeCom callbacks)")
if bad:
    print("docker-compose.yml:\n  " + "\n  ".join(bad)); sys.exit(1)
print(f"docker-compose.yml: valid, {len(svcs)} services; health on /readyz, restart, secrets, ports, "
      "log rotation, limits and Redis AOF as required; Grafana behind its login; deploy/haproxy.cfg and deploy/prometheus.yml valid")
PY
