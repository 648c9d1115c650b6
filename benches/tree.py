"""A city's union tree for the benches (issue 24): 20,000 nodes under the office's root —
1 city federation, 16 districts, 330 streets and township unions, the rest grassroots and
joint unions under the streets — and the laptops spread over the streets (laptop i under
street i mod 330, so a street holds one or two of 500 laptops and a district about 31).

  import tree; tree.load(BIN, url, env)   # `booth server unions import` of the list, timed
"""
import os, subprocess, tempfile, time

DIST = ["东城区", "西城区", "朝阳区", "丰台区", "石景山区", "海淀区", "门头沟区", "房山区",
        "通州区", "顺义区", "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区"]
NODES, STREETS = 20_000, 330

def district(d): return f"D{d:02}"
def street(s): return f"S{s:03}"

def rows():
    yield ("C0", "北京市总工会", "北京市总", "")
    for d, name in enumerate(DIST):
        yield (district(d), f"北京市{name}总工会", f"{name}总", "C0")
    for s in range(STREETS):
        yield (street(s), f"{DIST[s % 16]}第{s}街道总工会", f"第{s}街道", district(s % 16))
    for g in range(NODES - 1 - 1 - 16 - STREETS):
        yield (f"G{g:05}", f"第{g}基层工会联合会", f"基层{g}", street(g % STREETS))

def load(bin_path, url, env, psql):
    """Imports the tree and puts laptop lap-NNN under street NNN mod 330; returns seconds."""
    path = os.path.join(tempfile.mkdtemp(), "unions.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("code,name,short,parent\n")
        for r in rows():
            f.write(",".join(r) + "\n")
    t = time.time()
    subprocess.run([bin_path, "server", "unions", "import", path, "--db", url], env=env,
                   check=True, capture_output=True)
    took = time.time() - t
    # the laptops moved in SQL (the bench's rows were loaded in SQL too, before the laptops
    # existed): the employers by node made as the migration makes them
    psql(url, f"UPDATE devices SET union_code = 'S' || lpad((substr(name, 5)::int % {STREETS})::text, 3, '0') "
              "WHERE name LIKE 'lap-%'; DELETE FROM union_enterprises; "
              "INSERT INTO union_enterprises SELECT DISTINCT c.ancestor, e.enterprise FROM enterprise_days e "
              "JOIN devices d ON d.name = e.device JOIN union_closure c ON c.descendant = d.union_code")
    for table in ("devices", "union_closure", "unions", "union_enterprises"):
        psql(url, f"VACUUM ANALYZE {table}")
    return took

def add_user(bin_path, url, env, name, union):
    subprocess.run([bin_path, "server", "add-user", name, "--role", "admin", "--union", union, "--db", url],
                   env=env, check=True, capture_output=True)
