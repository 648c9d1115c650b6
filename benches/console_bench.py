#!/usr/bin/env python3
"""The office console at scale on PostgreSQL, driven over HTTP against the release binary.

Loads N members and M audit entries into a fresh database *inside PostgreSQL*
(generate_series: rows shaped as a laptop sends them, with the search keys ingest writes:
name, phone's last 4, employer, union, place), starts `target/release/booth server run` on
loopback, logs in, and times the dashboard, member searches (a part of an employer's or union's
name, a whole ID number posted from the search box, too) and the audit page (p50/p95/p99
over sequential requests, one client), then csv and xlsx exports of a filtered fifth of the
members (time, size, server RSS). The same measurements as benches/console.rs, without
building the bench profile.

  benches/console_bench.py postgres://postgres@127.0.0.1:PORT/postgres 1000000 1000000
"""
import http.client, json, os, random, subprocess, sys, tempfile, time, urllib.parse
sys.path.insert(0, os.path.dirname(__file__))
import tree

base, members, audit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "booth")
# BOOTH_BENCH_REUSE=DBNAME times a database an earlier run kept (BOOTH_BENCH_KEEP=1)
reuse = os.environ.get("BOOTH_BENCH_REUSE")
db = reuse or f"booth_pybench_{os.getpid()}"
head = base.rsplit("/", 1)[0]
url = f"{head}/{db}"
def psql(u, sql):
    r = subprocess.run(["psql", u, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], capture_output=True, text=True)
    if r.returncode: sys.exit(r.stderr)
    return r.stdout
env = dict(os.environ, BOOTH_USER_PASSWORD="Bench-Pass-2026")
if not reuse:
    psql(base, f"CREATE DATABASE {db}")
    subprocess.run([BIN, "server", "add-user", "admin", "--role", "admin", "--db", url], env=env, check=True, capture_output=True)

SUR = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文"
GIV = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红春林建国兰凤宇浩"
DIST = ["东城区", "西城区", "朝阳区", "丰台区", "石景山区", "海淀区", "门头沟区", "房山区",
        "通州区", "顺义区", "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区"]
t0 = time.time()
# member numbers as laptops issue them (SPEC §3: 6 symbols of the laptop's key, 4 of its
# sequence, a Damm check symbol over GF(32)): exports print them grouped, so they must parse
MEMBER_NO_FN = """
CREATE FUNCTION pg_temp.member_no(dev bigint, seq bigint) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE a text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; vals int[] := '{}'; acc int := 0; s text := ''; v int;
BEGIN
  FOR i IN 0..5 LOOP vals := vals || (((dev + 1000000) >> (5 * (5 - i))) & 31)::int; END LOOP;
  FOR i IN 0..3 LOOP vals := vals || ((seq >> (5 * (3 - i))) & 31)::int; END LOOP;
  FOREACH v IN ARRAY vals LOOP
    acc := (CASE WHEN (acc << 1) & 32 <> 0 THEN ((acc << 1) # 37) & 31 ELSE acc << 1 END) # v;
    s := s || substr(a, v + 1, 1);
  END LOOP;
  acc := CASE WHEN (acc << 1) & 32 <> 0 THEN ((acc << 1) # 37) & 31 ELSE acc << 1 END;
  RETURN s || substr(a, acc + 1, 1);
END $$;
"""
load = MEMBER_NO_FN + f"""
INSERT INTO members (uuid, member_no, person_key, content_hash, record, device, batch_id,
  event_date, s_name, s_phone_tail, s_employer, s_union, s_place)
SELECT md5(g::text), pg_temp.member_no(g % 500, g / 500 + 1), 'bench:' || g, repeat('0', 64),
  json_build_object('consent_at', d || 'T10:00:00+08:00', 'created_at', d || 'T10:00:00+08:00',
    'document', json_build_object('kind', 'resident_id', 'number', '110105198' || lpad(g::text, 9, '0')),
    'employer', emp, 'event_date', d, 'name', nm, 'operator', '李', 'phone', ph, 'place', pl,
    'union', un)::text,
  'lap-' || lpad((g % 500)::text, 3, '0'), 'bench', d::date, nm, right(ph, 4), emp, un, pl
FROM (
  SELECT g,
    (date '2026-09-01' + (g % 50)::int)::text AS d,
    substr('{SUR}', 1 + (g * 7 % {len(SUR)})::int, 1) || substr('{GIV}', 1 + (g / 101 % {len(GIV)})::int, 1)
      || substr('{GIV}', 1 + (g / 4001 % {len(GIV)})::int, 1) AS nm,
    '139' || lpad((g * 7919 % 100000000)::text, 8, '0') AS ph,
    '北京' || (g * 31 % 20000) || '号物流有限公司' AS emp,
    (ARRAY{DIST!r})[1 + g % 16] || '总工会' AS un,
    (ARRAY{DIST!r})[1 + g % 16] || '第' || (g * 7 % 3000) || '会场' AS pl
  FROM generate_series(1::bigint, {members}) g) t;
INSERT INTO devices (name, token_hash) SELECT 'lap-' || lpad(d::text, 3, '0'), md5(d::text) FROM generate_series(0, 499) d;
INSERT INTO audit_log (at, actor, action, target, count)
SELECT now() - (g || ' seconds')::interval,
  CASE WHEN g % 10 = 0 THEN 'admin' ELSE 'viewer' || (g % 50) END,
  CASE g % 3 WHEN 0 THEN 'members.search' WHEN 1 THEN 'member.view' ELSE 'export' END,
  'member_no=K7M2QX', g % 50 FROM generate_series(1, {audit}) g;
ANALYZE members; ANALYZE audit_log;
"""
if reuse:
    print(f"reusing {db}:", psql(url, "SELECT count(*) FROM members").strip(), "members", flush=True)
    if os.environ.get("BOOTH_BENCH_RENUMBER"):
        # a database loaded before member numbers were made valid
        psql(url, MEMBER_NO_FN + "ALTER TABLE members DISABLE TRIGGER members_names_changed; "
                  "UPDATE members SET member_no = pg_temp.member_no(id % 500, id / 500 + 1); "
                  "ALTER TABLE members ENABLE TRIGGER members_names_changed")
        psql(url, "VACUUM ANALYZE members")
else:
    psql(url, load)
    print(f"loaded {members} members and {audit} audit entries in {time.time() - t0:.0f} s", flush=True)
    # the city's tree (issue 24): a street's and a district's users
    took = tree.load(BIN, url, env, psql)
    print(f"server unions import of {tree.NODES} nodes: {took:.1f} s", flush=True)
    tree.add_user(BIN, url, env, "street", tree.street(7))
    tree.add_user(BIN, url, env, "district", tree.district(5))
print("database size:", psql(url, f"SELECT pg_size_pretty(pg_database_size('{db}'))").strip(), flush=True)

# kept with the database, for BOOTH_BENCH_REUSE
key = os.path.join(tempfile.gettempdir(), f"{db}-office-key.pem")
srv = subprocess.Popen([BIN, "server", "run", "--listen", "127.0.0.1:0", "--db", url, "--office-key", key],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
# a bench that stops half-way leaves no server behind
import atexit; atexit.register(lambda: srv.poll() is None and srv.terminate())
host, port = json.loads(srv.stdout.readline())["listening"].rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port), timeout=3600)
def login(user):
    # a fresh connection: the server closes one left idle during a long export
    global conn
    conn = http.client.HTTPConnection(host, int(port), timeout=3600)
    conn.request("POST", "/login", f"username={user}&password=Bench-Pass-2026",
                 {"content-type": "application/x-www-form-urlencoded"})
    r = conn.getresponse(); r.read()
    return r.getheader("set-cookie").split(";")[0]
cookie = login("admin")

def rss():
    s = open(f"/proc/{srv.pid}/status").read()
    f = lambda k: int(next(l for l in s.splitlines() if l.startswith(k)).split()[1])
    return f("VmRSS:"), f("VmHWM:")

def get(path):
    conn.request("GET", path, headers={"cookie": cookie})
    r = conn.getresponse(); body = r.read()
    assert r.status == 200, (path, r.status, body[:300])
    return body

def timed(what, paths):
    ms = []
    for p in paths:
        t = time.perf_counter(); get(p); ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    q = lambda x: ms[min(len(ms) - 1, round((len(ms) - 1) * x))]
    print(f"{what:<40} n={len(ms):<4} p50 {q(.5):7.1f} ms  p95 {q(.95):7.1f} ms  p99 {q(.99):7.1f} ms", flush=True)

enc = urllib.parse.quote
rnd = random.Random(7)
R = 100
print("server RSS after login (KB):", rss(), flush=True)
for _ in range(10):
    get("/"); get("/members"); get("/audit")
names = [r for r in psql(url, f"SELECT s_name, s_phone_tail, s_employer, member_no FROM members TABLESAMPLE SYSTEM (1) LIMIT {R}").splitlines()]
rows = [n.split("|") for n in names]
timed("dashboard /", ["/"] * R)
timed("dashboard, union + date range", [f"/?union={enc(DIST[i % 16] + '总工会')}&from=2026-09-0{1 + i % 9}&to=2026-10-15" for i in range(R)])
timed("members, no query", ["/members"] * R)
timed("members, q=surname", [f"/members?q={enc(r[0][0])}" for r in rows])
timed("members, q=whole name", [f"/members?q={enc(r[0])}" for r in rows])
timed("members, q=phone tail", [f"/members?q={r[1]}" for r in rows])
timed("members, q=member number", [f"/members?q={r[3]}" for r in rows])
timed("members, q=employer", [f"/members?q={enc(r[2])}" for r in rows])
# issue 23: a part of an employer's or union's name (two characters: 顺丰, 京东), and a whole ID
# number typed in the search box (posted, an admin's, through the unique person key)
timed("members, infix of employers, common (物流)", ["/members?q=" + enc("物流")] * R)
timed("members, infix of employers, rare (N号物)", [f"/members?q={enc(str(rnd.randint(1000, 19999)) + '号物')}" for _ in range(R)])
timed("members, infix of a union (2 chars)", [f"/members?q={enc(DIST[i % 16][:2])}" for i in range(R)])
def check_char(body):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(d) * x for d, x in zip(body, w)) % 11]
ids = []
if reuse:
    # the numbers an earlier run gave its sample: back to the load's keys
    psql(url, "UPDATE members SET person_key = 'bench:' || id WHERE person_key NOT LIKE 'bench:%'")
    # and the rate of whole-number searches an earlier run used up (the bench's own database)
    psql(url, "DELETE FROM audit_log WHERE action = 'members.search_number'")
for i, r in enumerate(rows):
    body = f"11010519{80 + i % 20}0{1 + i % 9}1{i % 10}{i:03d}"[:17]
    ids.append(body + check_char(body))
    psql(url, f"UPDATE members SET person_key = '{ids[-1]}' WHERE member_no = '{r[3]}'")
page = get("/members").decode()
csrf = page.split('name="csrf" value="')[1].split('"')[0]
def post_timed(what, bodies):
    ms = []
    for b in bodies:
        t = time.perf_counter()
        conn.request("POST", "/members", b, {"cookie": cookie, "content-type": "application/x-www-form-urlencoded", "origin": f"http://{host}:{port}"})
        r = conn.getresponse(); body = r.read()
        assert r.status == 200 and b"\xe5\x85\xb1 1 \xe4\xba\xba" in body, (r.status, body[-300:])
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    q = lambda x: ms[min(len(ms) - 1, round((len(ms) - 1) * x))]
    print(f"{what:<40} n={len(ms):<4} p50 {q(.5):7.1f} ms  p95 {q(.95):7.1f} ms  p99 {q(.99):7.1f} ms", flush=True)
# an admin may make 20 whole-number searches per 10 minutes (issue 21): the first 20 timed
post_timed("members, whole ID number (POST)", [f"csrf={csrf}&q={i}" for i in ids[:20]])
timed("members, union + date range", [f"/members?union={enc(DIST[i % 16] + '总工会')}&from=2026-09-{1 + i % 20:02}&to=2026-09-{5 + i % 20:02}" for i in range(R)])
timed("members, a later page (before=id)", [f"/members?before={rnd.randint(1, members)}" for _ in range(R)])
timed("audit log /audit", ["/audit"] * R)
timed("audit log, one user", ["/audit?actor=viewer7"] * R)
timed("audit log, a later page", [f"/audit?before={rnd.randint(1, audit)}" for _ in range(R)])

def export(what, query, keep=None):
    before = rss(); t = time.perf_counter()
    conn.request("GET", f"/members/export?{query}", headers={"cookie": cookie})
    r = conn.getresponse(); n = lines = 0; first = None; peak = 0; k = 0
    assert r.status == 200, r.status
    while True:
        b = r.read(1 << 16)
        if not b: break
        first = first or time.perf_counter() - t
        n += len(b); lines += b.count(b"\n"); k += 1
        if keep: keep.write(b)
        if k % 64 == 0: peak = max(peak, rss()[0])
    el = time.perf_counter() - t; after = rss()
    rows = f"{lines - 1} rows, " if "csv" in query else ""
    print(f"export {what}: {rows}{n / 1e6:.0f} MB in {el:.1f} s, first byte {first * 1000:.0f} ms", flush=True)
    print(f"  server RSS (KB): before {before[0]}, peak sampled during {peak}, after {after[0]}, VmHWM {after[1]}", flush=True)

# about a fifth of the members: the first ten of fifty campaign days
days = "from=2026-09-01&to=2026-09-10"
expected = int(psql(url, "SELECT count(*) FROM members WHERE event_date <= '2026-09-10'"))
print(f"the filtered view holds {expected} members", flush=True)
skip_exports = os.environ.get("BOOTH_BENCH_SKIP_EXPORTS")  # the tree's part only
if not skip_exports:
    export("csv, filtered", f"format=csv&{days}")
    export("xlsx, filtered", f"format=xlsx&{days}")
if members > 1_048_575 and not skip_exports:
    # more rows than a sheet holds: one sheet per 1,048,575 members (plus the header row)
    import math, re, zipfile
    with tempfile.TemporaryFile() as f:
        export("xlsx, every member", "format=xlsx", keep=f)
        z = zipfile.ZipFile(f)
        sheets = sorted(n for n in z.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
        rows = [z.open(n).read().count(b"<row") - 1 for n in sheets]
        print(f"  {len(sheets)} sheets (expected {math.ceil(members / 1_048_575)}) holding {rows} members", flush=True)

# a street's user (issue 24: member search p95 ≤ 100 ms) and a district's export
cookie = login("street")
street_rows = [r.split("|") for r in psql(url, f"""SELECT s_name, s_phone_tail, s_employer, member_no FROM members
    WHERE device IN (SELECT name FROM devices WHERE union_code = '{tree.street(7)}') LIMIT {R}""").splitlines()]
print(f"a street's user ({tree.street(7)}): {len(street_rows)} sample members", flush=True)
timed("street: members, no query", ["/members"] * R)
timed("street: members, q=surname", [f"/members?q={enc(r[0][0])}" for r in street_rows])
timed("street: members, q=whole name", [f"/members?q={enc(r[0])}" for r in street_rows])
timed("street: members, q=employer", [f"/members?q={enc(r[2])}" for r in street_rows])
timed("street: members, infix (物流)", ["/members?q=" + enc("物流")] * R)
timed("street: members, q=member number", [f"/members?q={r[3]}" for r in street_rows])
timed("street: dashboard", ["/"] * R)
cookie = login("district")
in_district = int(psql(url, f"""SELECT count(*) FROM members WHERE device IN (SELECT d.name FROM devices d
    JOIN union_closure c ON c.descendant = d.union_code WHERE c.ancestor = '{tree.district(5)}')"""))
print(f"a district's user ({tree.district(5)}): {in_district} members in scope", flush=True)
timed("district: members, q=surname", [f"/members?q={enc(r[0][0])}" for r in rows])
export("district: csv, every member in scope", "format=csv")
srv.terminate(); srv.wait()
if not os.environ.get("BOOTH_BENCH_KEEP") and not reuse:
    psql(base, f"DROP DATABASE {db}")
