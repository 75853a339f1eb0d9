#!/usr/bin/env python3
"""The dashboards of deploy/grafana/dashboards, checked (run.sh):
  check.py promql DASHDIR SCRAPE RULES DOC QUERIES: every panel on a provisioned
    data source; every PromQL expression written to RULES (one recording
    rule each, for promtool check rules to parse); every metric it names in
    SCRAPE (the services' /metrics after traffic), every label it groups or
    matches by either in SCRAPE or one Prometheus adds; every dashboard's
    title and every metric named in DOC (docs/operations.md), every
    expression verbatim in QUERIES (docs/dashboards.md).
  check.py sql DASHDIR OUTDIR QUERIES: every SQL query (verbatim in QUERIES) (panels and variables), with
    Grafana's macros and the brand variable substituted, one file each in
    OUTDIR for psql, named N.sql, its first line a comment naming it."""
import glob, json, os, re, sys

PROM_UID, PG_UID = "qy-prometheus", "qy-postgres"
PROM_LABELS = {"job", "instance", "service", "__name__"}      # added by Prometheus (deploy/prometheus.yml)
WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or", "unless", "inf", "nan"}


def boards(d):
    for path in sorted(glob.glob(os.path.join(d, "*.json"))):
        with open(path) as f:
            yield os.path.basename(path), json.load(f)


def panels(board):
    for p in board.get("panels", []):
        yield p
        yield from p.get("panels", [])


def metric_names(expr):
    """Metric names an expression selects: what is left once strings,
    matchers, ranges and grouping clauses are removed, that is no function
    or aggregation (those are followed by '(')."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    out = set()
    for m in re.finditer(r"(?<![0-9.])[A-Za-z_:][A-Za-z0-9_:]*", e):
        if not e[m.end():].lstrip().startswith("(") and m.group(0).lower() not in WORDS:
            out.add(m.group(0))
    return out


def label_names(expr):
    out = set()
    for m in re.finditer(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
        out |= {x.strip() for x in m.group(1).split(",") if x.strip()}
    for m in re.finditer(r"\{([^}]*)\}", expr):
        out |= set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", re.sub(r'"(?:[^"\\]|\\.)*"', '""', m.group(1))))
    return out


def scrape(path):
    names, labels = set(), set()
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s", line)
        if m:
            names.add(m.group(1))
            labels |= set(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="', m.group(2) or ""))
    return names, labels


def check_promql(d, scrape_path, rules_path, doc_path, queries_path):
    names, labels = scrape(scrape_path)
    doc, listed = open(doc_path).read(), open(queries_path).read()
    bad, rules, uids = [], [], set()
    for fname, b in boards(d):
        if b.get("uid") in uids or not b.get("uid"):
            bad.append(f"{fname}: uid missing or used twice")
        uids.add(b.get("uid"))
        if b["title"] not in doc:
            bad.append(f"{fname}: title '{b['title']}' not in {os.path.basename(doc_path)}")
        for p in panels(b):
            if p.get("type") == "row":
                continue
            for t in p.get("targets", []):
                uid = (t.get("datasource") or p.get("datasource") or {}).get("uid")
                where = f"{fname}: '{p.get('title')}' {t.get('refId')}"
                if uid == PROM_UID:
                    expr = t.get("expr", "")
                    if not expr:
                        bad.append(f"{where}: no expr")
                        continue
                    rules.append(expr)
                    if f"`{expr}`" not in listed:
                        bad.append(f"{where}: expression not listed in {os.path.basename(queries_path)}")
                    for n in sorted(metric_names(expr)):
                        if n not in names:
                            bad.append(f"{where}: metric {n} is exported by no service")
                        elif n not in doc and re.sub(r"_(bucket|sum|count)$", "", n) not in doc:
                            bad.append(f"{where}: metric {n} not in {os.path.basename(doc_path)}")
                    for l in sorted(label_names(expr) - labels - PROM_LABELS):
                        bad.append(f"{where}: label {l} is on no exported series")
                elif uid == PG_UID:
                    if not t.get("rawSql"):
                        bad.append(f"{where}: no rawSql")
                else:
                    bad.append(f"{where}: data source {uid} is not provisioned")
    with open(rules_path, "w") as f:
        f.write("groups:\n  - name: dashboards\n    rules:\n")
        for i, e in enumerate(rules):
            f.write(f"      - record: dashboard_expr_{i}\n        expr: {json.dumps(e)}\n")
    if not rules:
        bad.append("no PromQL expression found")
    print(f"{len(rules)} PromQL expressions in {len(uids)} dashboards")
    return bad


def substitute(sql):
    sql = sql.replace("$__timeFrom()", "'2020-01-01T00:00:00Z'").replace("$__timeTo()", "(now() + interval '1 day')")
    sql = re.sub(r"\$\{?brand\}?", "acme", sql)
    left = re.findall(r"\$[A-Za-z_{][A-Za-z0-9_}]*(?:\(\))?", sql)
    return sql, left


def check_sql(d, out, queries_path):
    bad, n, listed = [], 0, open(queries_path).read()
    for fname, b in boards(d):
        queries = [(f"variable {v['name']}", v.get("query", "")) for v in b.get("templating", {}).get("list", [])
                   if (v.get("datasource") or {}).get("uid") == PG_UID]
        queries += [(f"'{p.get('title')}'", t["rawSql"]) for p in panels(b) for t in p.get("targets", []) if "rawSql" in t]
        for what, sql in queries:
            if sql not in listed:
                bad.append(f"{fname}: {what}: query not listed in {os.path.basename(queries_path)}")
            sql, left = substitute(sql)
            if left:
                bad.append(f"{fname}: {what}: unknown macro or variable {left}")
                continue
            n += 1
            with open(os.path.join(out, f"{n:03d}.sql"), "w") as f:
                f.write(f"-- {fname}: {what}\n{sql};\n")
    if not n:
        bad.append("no SQL query found")
    return bad


if __name__ == "__main__":
    bad = check_promql(*sys.argv[2:7]) if sys.argv[1] == "promql" else check_sql(*sys.argv[2:5])
    for b in bad:
        print("FAIL:", b)
    sys.exit(1 if bad else 0)
