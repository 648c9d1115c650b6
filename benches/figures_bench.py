#!/usr/bin/env python3
"""The office's figures at campaign scale on PostgreSQL: the dashboard and `server stats`.

Fills the figures' tables (those ingest keeps, src/server/db/figures.rs) inside PostgreSQL as
N meetings would leave them: 500 laptops, 16 district unions, 3,000 places, per meeting
~100 members, 3 employment forms, 3 needs and 20 enterprises (of 23,600); each laptop's
day at a place is one meeting (meeting_share 1), its summary naming two needs. The members table
itself stays empty: the dashboard never reads it. Then times `booth server stats --json` and
the dashboard over HTTP, unfiltered and filtered (p50/p95/p99, one client, sequential).

  benches/figures_bench.py BOOTH_BINARY postgres://postgres@127.0.0.1:PORT/postgres 50000
"""
import http.client, json, os, subprocess, sys, tempfile, time, urllib.parse
sys.path.insert(0, os.path.dirname(__file__))
import tree

BIN, base, meetings = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = f"booth_figbench_{os.getpid()}"
url = f"{base.rsplit('/', 1)[0]}/{db}"
def psql(u, sql):
    r = subprocess.run(["psql", u, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], capture_output=True, text=True)
    if r.returncode: sys.exit(r.stderr)
    return r.stdout
psql(base, f"CREATE DATABASE {db}")
key = os.path.join(tempfile.mkdtemp(), "office-key.pem")
env = dict(os.environ, BOOTH_USER_PASSWORD="Bench-Pass-2026", BOOTH_OFFICE_KEY=key)
subprocess.run([BIN, "server", "add-user", "admin", "--role", "admin", "--db", url], env=env, check=True, capture_output=True)
D = ["东城区", "西城区", "朝阳区", "丰台区", "石景山区", "海淀区", "门头沟区", "房山区",
     "通州区", "顺义区", "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区"]
m = f"""
CREATE TEMP TABLE mt AS SELECT g,
  'lap-' || lpad((g % 500)::text, 3, '0') AS device,
  date '2026-01-01' + ((g / 500) % 365)::int AS d,
  (ARRAY{D!r})[1 + g % 16] || '总工会' AS un,
  (ARRAY{D!r})[1 + g % 16] || '第' || (g * 7 % 3000) || '会场' AS pl
FROM generate_series(0::bigint, {meetings} - 1) g;
INSERT INTO booth_days (device, event_date, union_name, place, operator, consultations, needs, registrations, voids, meeting_share)
  SELECT device, d, un, pl, '李', 25, '{{"legal_aid":5,"skills":3}}', 4, 0, 1 FROM mt ON CONFLICT DO NOTHING;
INSERT INTO booth_day_needs SELECT device, d, un, pl, n, c FROM mt, (VALUES ('legal_aid', 5), ('skills', 3)) v(n, c) ON CONFLICT DO NOTHING;
INSERT INTO figure_names SELECT 'union', un FROM mt UNION SELECT 'place', pl FROM mt UNION SELECT 'device', device FROM mt ON CONFLICT DO NOTHING;
INSERT INTO member_days SELECT d, un, pl, device, false, 100 FROM mt ON CONFLICT DO NOTHING;
INSERT INTO member_forms SELECT d, un, pl, device, f, 33 FROM mt, unnest(ARRAY['employee','courier','rider']) f ON CONFLICT DO NOTHING;
INSERT INTO member_needs SELECT d, un, pl, device, n, 10 FROM mt, unnest(ARRAY['legal_aid','skills','hardship']) n ON CONFLICT DO NOTHING;
INSERT INTO enterprise_days SELECT 'E' || ((g * 20 + k) % 23600), d, un, pl, device FROM mt, generate_series(0, 19) k ON CONFLICT DO NOTHING;
INSERT INTO enterprises SELECT DISTINCT enterprise FROM enterprise_days ON CONFLICT DO NOTHING;
INSERT INTO figure_days (event_date, item, n)
  SELECT event_date, 'members', sum(n) FROM member_days GROUP BY 1
  UNION ALL SELECT event_date, 'form:' || form, sum(n) FROM member_forms GROUP BY 1, 2
  UNION ALL SELECT event_date, 'need:' || need, sum(n) FROM member_needs GROUP BY 1, 2
  UNION ALL SELECT event_date, 'consultations', sum(consultations) FROM booth_days GROUP BY 1
  UNION ALL SELECT event_date, 'registrations', sum(registrations) FROM booth_days GROUP BY 1
  UNION ALL SELECT event_date, 'meetings', sum(meeting_share) FROM booth_days GROUP BY 1
  UNION ALL SELECT event_date, 'bneed:' || need, sum(n) FROM booth_day_needs GROUP BY 1, 2;
INSERT INTO devices (name, token_hash) SELECT 'lap-' || lpad(d::text, 3, '0'), md5(d::text) FROM generate_series(0, 499) d ON CONFLICT DO NOTHING;
ANALYZE;
"""
t0 = time.time(); psql(url, m)
# what autovacuum does soon after a load: the visibility map lets index-only scans skip the heap
psql(url, "VACUUM ANALYZE")
print(f"filled the figures of {meetings} meetings in {time.time() - t0:.0f} s; enterprise_days rows:",
      psql(url, "SELECT count(*) FROM enterprise_days").strip(), flush=True)

# the city's union tree (issue 24): 20,000 nodes, the laptops under the streets
took = tree.load(BIN, url, env, psql)
print(f"server unions import of {tree.NODES} nodes: {took:.1f} s (a whole process)", flush=True)
tree.add_user(BIN, url, env, "district", tree.district(5))
def stats(union="root"):
    t = time.perf_counter()
    r = subprocess.run([BIN, "server", "stats", "--json", "--union", union, "--db", url], env=env, capture_output=True, text=True, check=True)
    return (time.perf_counter() - t) * 1000, json.loads(r.stdout)
ms, s = stats()
print(f"server stats --json: {ms:.0f} ms (a whole process): meetings {s['meetings']}, consultations {s['consultations']}, "
      f"registered {s['registered']}, members {s['members']}, enterprises {s['enterprises']}", flush=True)
ms, c0 = stats("C0")
kids = sum(c["registered"] for c in c0["children"])
print(f"server stats --json --union C0: {ms:.0f} ms, {len(c0['children'])} districts summing to {kids} registered (the city: {c0['registered']})", flush=True)
assert kids == c0["registered"], (kids, c0["registered"])
ms, d5 = stats(tree.district(5))
print(f"server stats --json --union {tree.district(5)}: {ms:.0f} ms, {len(d5['children'])} streets, registered {d5['registered']}", flush=True)

srv = subprocess.Popen([BIN, "server", "run", "--listen", "127.0.0.1:0", "--db", url], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
# a bench that stops half-way leaves no server behind
import atexit; atexit.register(lambda: srv.poll() is None and srv.terminate())
host, port = json.loads(srv.stdout.readline())["listening"].rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port), timeout=600)
def login(user):
    conn.request("POST", "/login", f"username={user}&password=Bench-Pass-2026", {"content-type": "application/x-www-form-urlencoded"})
    r = conn.getresponse(); r.read(); return r.getheader("set-cookie").split(";")[0]
cookie = login("admin")
def get(p):
    conn.request("GET", p, headers={"cookie": cookie}); r = conn.getresponse(); b = r.read()
    assert r.status == 200, (p, r.status, b[:200]); return b
body = get("/").decode()
assert f'data-figure="meetings"' in body
def timed(what, paths):
    ms = []
    for p in paths:
        t = time.perf_counter(); get(p); ms.append((time.perf_counter() - t) * 1000)
    ms.sort(); q = lambda x: ms[min(len(ms) - 1, round((len(ms) - 1) * x))]
    print(f"{what:<36} n={len(ms):<3} p50 {q(.5):7.1f} ms  p95 {q(.95):7.1f} ms  p99 {q(.99):7.1f} ms", flush=True)
enc = urllib.parse.quote
R = int(os.environ.get("BOOTH_BENCH_REQUESTS", "40"))
timed("dashboard, everything", ["/"] * R)
timed("dashboard, one month", [f"/?from=2026-0{1 + i % 9}-01&to=2026-0{1 + i % 9}-28" for i in range(R)])
timed("dashboard, one union", [f"/?union={enc(D[i % 16] + '总工会')}" for i in range(R)])
timed("dashboard, union + a month", [f"/?union={enc(D[i % 16] + '总工会')}&from=2026-0{1 + i % 9}-01&to=2026-0{1 + i % 9}-28" for i in range(R)])
timed("dashboard, one laptop", [f"/?device=lap-{i * 7 % 500:03}" for i in range(R)])
# the tree: the city's node with its 16 districts, a district with its streets (the root's
# user drilling down), and the district's own user on her dashboard
timed("dashboard, the city and its districts", ["/?node=C0"] * R)
timed("dashboard, a district and its streets", [f"/?node={tree.district(i % 16)}" for i in range(R)])
cookie = login("district")
timed("dashboard, a district's own user", ["/"] * R)
srv.terminate(); srv.wait()
if not os.environ.get("BOOTH_BENCH_KEEP"):
    psql(base, f"DROP DATABASE {db}")
