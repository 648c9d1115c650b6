//! The union tree at the office (SPEC §11): the nodes, their closure (every ancestor of
//! every node, a node its own at depth 0), which node each laptop and each office user
//! belongs to, and the condition that keeps a query inside a user's part of the tree.
//!
//! Everything the office holds is counted under a laptop (`device` in `members` and in every
//! figures table), so a node's part is "the devices of the node and below": a user's scope is
//! one `IN (SELECT …)` over `devices` joined with `union_closure`, written into each query
//! ([`scope_condition`]). Moving a laptop (`assign-device`) moves its history: nothing is
//! copied, only its `union_code` changes. The root's scope adds no condition at all, so the
//! office's own view (and a device the office never knew) stays as it was.

use super::conn::{Conn, Value, args, first};
use super::sql::sql;
use super::{Db, DbError};
use crate::server::unions::plan::{self, ImportRow, Plan, Problem};
use crate::server::unions::{ROOT, Scope, UnionNode};

/// Migration (both databases): the tree with its root, the closure, and the node of each
/// laptop, user and audit entry (everything held so far is the root's).
pub(crate) const TREE_MIGRATION: &str = r#"
    CREATE TABLE unions (
        code   TEXT PRIMARY KEY,
        name   TEXT NOT NULL,
        short  TEXT NOT NULL,
        -- NULL for the root only
        parent TEXT
    );
    CREATE INDEX unions_parent ON unions (parent, code);
    INSERT INTO unions (code, name, short, parent) VALUES ('root', '', '', NULL);
    CREATE TABLE union_closure (
        ancestor   TEXT NOT NULL,
        descendant TEXT NOT NULL,
        depth      INTEGER NOT NULL,
        PRIMARY KEY (ancestor, descendant)
    );
    CREATE INDEX union_closure_descendant ON union_closure (descendant, ancestor);
    INSERT INTO union_closure (ancestor, descendant, depth) VALUES ('root', 'root', 0);
    ALTER TABLE devices ADD COLUMN union_code TEXT NOT NULL DEFAULT 'root';
    CREATE INDEX devices_union ON devices (union_code, name);
    ALTER TABLE office_users ADD COLUMN union_code TEXT NOT NULL DEFAULT 'root';
    ALTER TABLE audit_log ADD COLUMN scope TEXT NOT NULL DEFAULT 'root';
    CREATE INDEX audit_log_scope ON audit_log (scope, id);
"#;

/// Migration: the distinct employers under each node, for every node above the laptop's
/// (the rows `enterprise_days` holds, by node), so that a node's and its children's 覆盖企业
/// are counts of an index, not a distinct count over every employer-day of a city. Kept by a
/// trigger on `enterprise_days` (the same invariant whichever code inserts there), made again
/// for the nodes a move touches ([`renumber_enterprises`]). SQLite's trigger, row by row.
pub(crate) const UNION_ENTERPRISES_SQLITE: &str = r#"
    CREATE TABLE union_enterprises (
        code       TEXT NOT NULL,
        enterprise TEXT NOT NULL,
        PRIMARY KEY (code, enterprise)
    );
    INSERT INTO union_enterprises (code, enterprise)
        SELECT DISTINCT c.ancestor, e.enterprise FROM enterprise_days e
        JOIN devices d ON d.name = e.device
        JOIN union_closure c ON c.descendant = d.union_code;
    CREATE TRIGGER enterprise_days_by_node AFTER INSERT ON enterprise_days BEGIN
        INSERT INTO union_enterprises (code, enterprise)
            SELECT c.ancestor, NEW.enterprise FROM devices d
            JOIN union_closure c ON c.descendant = d.union_code
            WHERE d.name = NEW.device
            ON CONFLICT DO NOTHING;
    END;
"#;

/// PostgreSQL's: a statement-level trigger over the rows a batch inserted, in key order (two
/// batches lock the same keys in one order).
pub(crate) const UNION_ENTERPRISES_PG: &str = r#"
    CREATE TABLE union_enterprises (
        code       TEXT NOT NULL,
        enterprise TEXT NOT NULL,
        PRIMARY KEY (code, enterprise)
    );
    INSERT INTO union_enterprises (code, enterprise)
        SELECT DISTINCT c.ancestor, e.enterprise FROM enterprise_days e
        JOIN devices d ON d.name = e.device
        JOIN union_closure c ON c.descendant = d.union_code;
    CREATE FUNCTION union_enterprises_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO union_enterprises (code, enterprise)
            SELECT DISTINCT c.ancestor, n.enterprise FROM new_rows n
            JOIN devices d ON d.name = n.device
            JOIN union_closure c ON c.descendant = d.union_code
            ORDER BY 1, 2
            ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$;
    CREATE TRIGGER enterprise_days_by_node AFTER INSERT ON enterprise_days
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION union_enterprises_added();
"#;

/// The employers of the nodes `codes` counted again from `enterprise_days`, after laptops or
/// nodes moved (`codes`: every node that gained or lost something below it).
pub(crate) async fn renumber_enterprises(c: &Conn<'_>, codes: &[String]) -> Result<(), DbError> {
    for code in codes {
        c.execute(
            sql!("DELETE FROM union_enterprises WHERE code = $1"),
            &args![code],
        )
        .await?;
        c.execute(
            sql!(
                "INSERT INTO union_enterprises (code, enterprise)
                 SELECT DISTINCT $1, e.enterprise FROM enterprise_days e
                 WHERE e.device IN (SELECT d.name FROM devices d JOIN union_closure c
                    ON c.descendant = d.union_code WHERE c.ancestor = $1)"
            ),
            &args![code],
        )
        .await?;
    }
    Ok(())
}

/// The codes of a node and every node above it.
async fn ancestors(c: &Conn<'_>, code: &str) -> Result<Vec<String>, DbError> {
    c.query(
        sql!("SELECT ancestor FROM union_closure WHERE descendant = $1"),
        &args![code],
        |r| r.text(0),
    )
    .await
}

/// The node of a laptop the office knows.
async fn node_of_device(c: &Conn<'_>, name: &str) -> Result<Option<String>, DbError> {
    c.query(
        sql!("SELECT union_code FROM devices WHERE name = $1"),
        &args![name],
        |r| r.text(0),
    )
    .await
    .map(first)
}

/// `column IN (the devices of node $n and below)`: the one condition every scoped query
/// carries (a device's records, summaries and figures are its node's).
pub(crate) fn devices_under(column: &str, n: usize) -> String {
    format!(
        "{column} IN (SELECT sd.name FROM devices sd JOIN union_closure sc
            ON sc.descendant = sd.union_code WHERE sc.ancestor = ${n})"
    )
}

/// The scope's condition on `column` (a device name), its parameter pushed onto `params`;
/// `None` for the root's scope (everything: no condition).
pub(crate) fn scope_condition(
    scope: &Scope,
    column: &str,
    params: &mut Vec<Value>,
) -> Option<String> {
    match scope {
        Scope::All => None,
        Scope::Under(code) => {
            params.push(Value::from(code.as_str()));
            Some(devices_under(column, params.len()))
        }
    }
}

/// `code_column IN (the nodes at $n and below)`: for what is kept by node, not by device
/// (users, audit entries).
pub(crate) fn nodes_under(code_column: &str, n: usize) -> String {
    format!("{code_column} IN (SELECT descendant FROM union_closure WHERE ancestor = ${n})")
}

/// What an import did, or why it took nothing.
#[derive(Debug)]
pub enum ImportOutcome {
    Taken(Plan),
    Refused(Vec<Problem>),
}

/// Why a node cannot be removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds {
    Root,
    Children,
    Devices,
    Users,
}

fn node_of(r: &dyn super::conn::Row) -> Result<UnionNode, DbError> {
    Ok(UnionNode {
        code: r.text(0)?,
        name: r.text(1)?,
        short: r.text(2)?,
        parent: r.opt_text(3)?,
    })
}

/// `Ok` when the office's tree has the node, `NoSuchUnion` otherwise (checked before a
/// laptop or user is put under it).
pub(crate) async fn known_union(c: &Conn<'_>, code: &str) -> Result<(), DbError> {
    let known = sql!("SELECT code FROM unions WHERE code = $1");
    if c.query(known, &args![code], |r| r.text(0))
        .await?
        .is_empty()
    {
        return Err(DbError::NoSuchUnion);
    }
    Ok(())
}

/// Puts a laptop, and so everything it ever sent, under `code`; the rows changed. The
/// employers of the nodes above its old and its new place are counted again.
pub(crate) async fn move_device(c: &Conn<'_>, name: &str, code: &str) -> Result<u64, DbError> {
    let Some(old) = node_of_device(c, name).await? else {
        return Ok(0);
    };
    let moved = c
        .execute(
            sql!("UPDATE devices SET union_code = $2 WHERE name = $1"),
            &args![name, code],
        )
        .await?;
    if old != code {
        // the nodes above both places keep what they had
        let (was, now) = (ancestors(c, &old).await?, ancestors(c, code).await?);
        let mut touched: Vec<String> = was.iter().filter(|a| !now.contains(a)).cloned().collect();
        touched.extend(now.iter().filter(|a| !was.contains(a)).cloned());
        renumber_enterprises(c, &touched).await?;
    }
    Ok(moved)
}

/// The laptops (revoked ones included) that belong to the node itself, not to one below.
pub(crate) async fn own_devices(c: &Conn<'_>, code: &str) -> Result<u64, DbError> {
    let n = sql!("SELECT count(*) FROM devices WHERE union_code = $1");
    Ok(first(c.query(n, &args![code], |r| r.count(0)).await?).unwrap_or(0))
}

async fn tree(c: &Conn<'_>) -> Result<Vec<UnionNode>, DbError> {
    c.query(
        sql!("SELECT code, name, short, parent FROM unions ORDER BY code"),
        &[],
        node_of,
    )
    .await
}

impl Db {
    /// Every node, the root included, by code.
    pub async fn union_tree(&self) -> Result<Vec<UnionNode>, DbError> {
        self.with(|c| Box::pin(tree(c))).await
    }

    /// One node, if the office has it.
    pub async fn union_node(&self, code: String) -> Result<Option<UnionNode>, DbError> {
        self.query(
            sql!("SELECT code, name, short, parent FROM unions WHERE code = $1"),
            args![code],
            node_of,
        )
        .await
        .map(first)
    }

    /// A node inside `scope` (itself or below its node), `None` otherwise: what a scoped
    /// user may open.
    pub async fn union_in_scope(
        &self,
        scope: &Scope,
        code: String,
    ) -> Result<Option<UnionNode>, DbError> {
        self.query(
            sql!(
                "SELECT u.code, u.name, u.short, u.parent FROM unions u
                 JOIN union_closure c ON c.descendant = u.code
                 WHERE u.code = $1 AND c.ancestor = $2"
            ),
            args![code, scope.code()],
            node_of,
        )
        .await
        .map(first)
    }

    /// The nodes within `scope` (its node and every node below it), by code: what a scoped
    /// user may pick.
    pub async fn unions_within(&self, scope: &Scope) -> Result<Vec<UnionNode>, DbError> {
        self.query(
            sql!(
                "SELECT u.code, u.name, u.short, u.parent FROM unions u
                 JOIN union_closure c ON c.descendant = u.code
                 WHERE c.ancestor = $1 ORDER BY u.code"
            ),
            args![scope.code()],
            node_of,
        )
        .await
    }

    /// The laptops of a scope (`None` for everything), for a statement that lists them.
    pub async fn scope_devices(&self, scope: &Scope) -> Result<Option<Vec<String>>, DbError> {
        match scope {
            Scope::All => Ok(None),
            Scope::Under(code) => self
                .query(
                    sql!(
                        "SELECT d.name FROM devices d JOIN union_closure c
                         ON c.descendant = d.union_code WHERE c.ancestor = $1 ORDER BY d.name"
                    ),
                    args![code.as_str()],
                    |r| r.text(0),
                )
                .await
                .map(Some),
        }
    }

    /// The node's children, by code.
    pub async fn union_children(&self, code: String) -> Result<Vec<UnionNode>, DbError> {
        self.query(
            sql!("SELECT code, name, short, parent FROM unions WHERE parent = $1 ORDER BY code"),
            args![code],
            node_of,
        )
        .await
    }

    /// The node's ancestors from the root down to the node itself (breadcrumbs).
    pub async fn union_path(&self, code: String) -> Result<Vec<UnionNode>, DbError> {
        self.query(
            sql!(
                "SELECT u.code, u.name, u.short, u.parent FROM union_closure c
                 JOIN unions u ON u.code = c.ancestor
                 WHERE c.descendant = $1 ORDER BY c.depth DESC"
            ),
            args![code],
            node_of,
        )
        .await
    }

    /// Takes a federation's list, all or nothing: checked against the tree held inside the
    /// transaction that writes it (the office row locked, so two imports do not interleave),
    /// then the closure made again from the whole tree.
    pub async fn import_unions(&self, rows: Vec<ImportRow>) -> Result<ImportOutcome, DbError> {
        self.transaction(move |c| {
            Box::pin(async move {
                c.query(
                    sql!("SELECT bundle_version FROM office WHERE id = 1 FOR UPDATE"),
                    &[],
                    |r| r.int(0),
                )
                .await?;
                let held = tree(c).await?;
                let plan = match plan::plan(&held, &rows) {
                    Ok(plan) => plan,
                    Err(problems) => return Ok(ImportOutcome::Refused(problems)),
                };
                let upsert = sql!(
                    "INSERT INTO unions (code, name, short, parent) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name,
                        short = excluded.short, parent = excluded.parent"
                );
                for n in &plan.write {
                    c.execute(
                        upsert,
                        &args![
                            &n.code,
                            &n.name,
                            &n.short,
                            n.parent.as_deref().unwrap_or(ROOT)
                        ],
                    )
                    .await?;
                }
                if !plan.write.is_empty() {
                    // the nodes above a moved node before the move and not after it, or
                    // after and not before: their employers change
                    let mut before = Vec::new();
                    for code in &plan.moved {
                        before.push(ancestors(c, code).await?);
                    }
                    rebuild_closure(c).await?;
                    let mut touched = Vec::new();
                    for (code, was) in plan.moved.iter().zip(before) {
                        let now = ancestors(c, code).await?;
                        touched.extend(was.iter().filter(|a| !now.contains(a)).cloned());
                        touched.extend(now.iter().filter(|a| !was.contains(a)).cloned());
                    }
                    touched.sort();
                    touched.dedup();
                    renumber_enterprises(c, &touched).await?;
                }
                Ok(ImportOutcome::Taken(plan))
            })
        })
        .await
    }

    /// Removes a node that holds nothing: no child, no laptop, no user (a laptop's members
    /// and summaries are under it, so a node without laptops holds none of those either).
    pub async fn remove_union(&self, code: String) -> Result<Result<(), Holds>, DbError> {
        self.transaction(move |c| {
            Box::pin(async move {
                if code == ROOT {
                    return Ok(Err(Holds::Root));
                }
                let exists = sql!("SELECT code FROM unions WHERE code = $1 FOR UPDATE");
                if c.query(exists, &args![&code], |r| r.text(0))
                    .await?
                    .is_empty()
                {
                    return Err(DbError::NoSuchUnion);
                }
                if own_devices(c, &code).await? > 0 {
                    return Ok(Err(Holds::Devices));
                }
                let checks = [
                    (
                        sql!("SELECT count(*) FROM unions WHERE parent = $1"),
                        Holds::Children,
                    ),
                    (
                        sql!("SELECT count(*) FROM office_users WHERE union_code = $1"),
                        Holds::Users,
                    ),
                ];
                for (count, holds) in checks {
                    if first(c.query(count, &args![&code], |r| r.int(0)).await?) != Some(0) {
                        return Ok(Err(holds));
                    }
                }
                c.execute(sql!("DELETE FROM unions WHERE code = $1"), &args![&code])
                    .await?;
                c.execute(
                    sql!("DELETE FROM union_closure WHERE descendant = $1"),
                    &args![&code],
                )
                .await?;
                Ok(Ok(()))
            })
        })
        .await
    }

    /// Moves a laptop, and with it everything it ever sent, under `code`.
    pub async fn assign_device(&self, name: String, code: String) -> Result<(), DbError> {
        self.transaction(move |c| {
            Box::pin(async move {
                known_union(c, &code).await?;
                if move_device(c, &name, &code).await? == 0 {
                    return Err(DbError::NoSuchDevice);
                }
                Ok(())
            })
        })
        .await
    }

    /// The node a laptop belongs to (the root for one never assigned or unknown).
    pub async fn device_union(&self, name: String) -> Result<UnionNode, DbError> {
        let node = self
            .query(
                sql!(
                    "SELECT u.code, u.name, u.short, u.parent FROM devices d
                     JOIN unions u ON u.code = d.union_code WHERE d.name = $1"
                ),
                args![name],
                node_of,
            )
            .await
            .map(first)?;
        match node {
            Some(n) => Ok(n),
            None => self
                .union_node(ROOT.to_string())
                .await?
                .ok_or(DbError::NoSuchUnion),
        }
    }
}

/// The closure made again from the parents: each node with itself and every node below it.
async fn rebuild_closure(c: &Conn<'_>) -> Result<(), DbError> {
    c.execute(sql!("DELETE FROM union_closure"), &[]).await?;
    c.execute(
        sql!(
            "INSERT INTO union_closure (ancestor, descendant, depth)
             WITH RECURSIVE walk (ancestor, descendant, depth) AS (
                SELECT code, code, 0 FROM unions
                UNION ALL
                SELECT w.ancestor, u.code, w.depth + 1 FROM walk w
                JOIN unions u ON u.parent = w.descendant
             )
             SELECT ancestor, descendant, depth FROM walk"
        ),
        &[],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::db::devices::NewToken;
    use crate::server::db::upgrade_tests::{fresh_pg, test_pg_base};

    /// A new office database in a folder of its own (kept while the folder is).
    async fn sqlite() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&format!("sqlite:{}", dir.path().join("s.db").display()))
            .await
            .unwrap();
        (dir, db)
    }

    /// A new database on the test cluster, `None` when there is none (outside CI).
    async fn postgres() -> Option<Db> {
        let url = fresh_pg(&test_pg_base()?).await;
        Some(Db::open(&url).await.unwrap())
    }

    fn row(line: usize, code: &str, parent: &str) -> ImportRow {
        ImportRow {
            line,
            code: code.into(),
            name: format!("{code}总工会"),
            short: code.into(),
            parent: parent.into(),
        }
    }

    async fn the_tree_is_kept_and_its_closure_follows(db: &Db) {
        let rows = vec![
            row(2, "C0", ""),
            row(3, "D1", "C0"),
            row(4, "D2", "C0"),
            row(5, "S11", "D1"),
        ];
        assert!(matches!(
            db.import_unions(rows).await.unwrap(),
            ImportOutcome::Taken(p) if p.added == 4
        ));
        let path: Vec<String> = db
            .union_path("S11".into())
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.code)
            .collect();
        assert_eq!(path, ["root", "C0", "D1", "S11"]);
        // a cycle takes nothing
        assert!(matches!(
            db.import_unions(vec![row(2, "C0", "S11"), row(3, "X", "")])
                .await
                .unwrap(),
            ImportOutcome::Refused(_)
        ));
        assert!(db.union_node("X".into()).await.unwrap().is_none());
        // S11 moves under D2: its path follows
        db.import_unions(vec![row(2, "S11", "D2")]).await.unwrap();
        let path = db.union_path("S11".into()).await.unwrap();
        assert_eq!(path[2].code, "D2");
        let d1 = Scope::Under("D1".into());
        assert!(
            db.union_in_scope(&d1, "S11".into())
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            db.union_in_scope(&Scope::All, "S11".into())
                .await
                .unwrap()
                .is_some()
        );
        // a laptop under S11: the node holds it
        db.add_device("lap".into(), NewToken::of("t0ken-lap"), None)
            .await
            .unwrap();
        db.assign_device("lap".into(), "S11".into()).await.unwrap();
        assert_eq!(db.device_union("lap".into()).await.unwrap().code, "S11");
        assert_eq!(
            db.remove_union("S11".into()).await.unwrap(),
            Err(Holds::Devices)
        );
        assert_eq!(
            db.remove_union("C0".into()).await.unwrap(),
            Err(Holds::Children)
        );
        assert_eq!(
            db.remove_union("root".into()).await.unwrap(),
            Err(Holds::Root)
        );
        assert!(matches!(
            db.assign_device("lap".into(), "nope".into()).await,
            Err(DbError::NoSuchUnion)
        ));
        db.assign_device("lap".into(), "D1".into()).await.unwrap();
        db.remove_union("S11".into()).await.unwrap().unwrap();
        assert!(db.union_path("S11".into()).await.unwrap().is_empty());
    }

    /// What a node's user reads of the laptops and the nodes: their own part only, and a
    /// laptop added from the console goes under a node of it, never taking a name held
    /// outside (a revoked one included: its history would move with it).
    async fn laptops_and_nodes_are_read_within_a_scope(db: &Db) {
        let rows = vec![
            row(2, "C0", ""),
            row(3, "D1", "C0"),
            row(4, "D2", "C0"),
            row(5, "S11", "D1"),
            row(6, "S21", "D2"),
        ];
        db.import_unions(rows).await.unwrap();
        for (name, code) in [("lap1", "S11"), ("lap2", "S21"), ("old2", "S21")] {
            db.add_device(name.into(), NewToken::of(name), Some(code.into()))
                .await
                .unwrap();
        }
        db.revoke_device("old2".into()).await.unwrap();
        let d1 = Scope::Under("D1".into());
        let names = |l: Vec<super::super::devices::DeviceRow>| -> Vec<String> {
            l.into_iter().map(|d| d.name).collect()
        };
        assert_eq!(names(db.device_list(&d1).await.unwrap()), ["lap1"]);
        assert_eq!(
            names(db.device_list(&Scope::All).await.unwrap()),
            ["lap1", "lap2", "old2"]
        );
        let listed = db.device_list(&d1).await.unwrap();
        assert_eq!(
            (listed[0].union_code.as_str(), listed[0].union_name.as_str()),
            ("S11", "S11总工会")
        );
        assert!(db.device_in_scope(&d1, "lap1".into()).await.unwrap());
        assert!(!db.device_in_scope(&d1, "lap2".into()).await.unwrap());
        assert!(
            db.device_in_scope(&Scope::All, "lap2".into())
                .await
                .unwrap()
        );
        let codes: Vec<String> = db
            .unions_within(&d1)
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.code)
            .collect();
        assert_eq!(codes, ["D1", "S11"]);
        for (name, code, refused) in [
            ("new", "S21", "union"),
            ("new", "root", "union"),
            ("lap2", "S11", "exists"),
            ("old2", "S11", "exists"),
        ] {
            let r = db
                .add_device_within(&d1, name.into(), NewToken::of("t"), code.into())
                .await;
            match (refused, r) {
                ("union", Err(DbError::NoSuchUnion)) | ("exists", Err(DbError::DeviceExists)) => {}
                (_, r) => panic!("{name} under {code}: {r:?}"),
            }
        }
        assert_eq!(db.device_union("old2".into()).await.unwrap().code, "S21");
        db.add_device_within(&d1, "new".into(), NewToken::of("t"), "S11".into())
            .await
            .unwrap();
        assert_eq!(names(db.device_list(&d1).await.unwrap()), ["lap1", "new"]);
    }

    #[tokio::test]
    async fn scoped_laptops_on_sqlite() {
        let (_dir, db) = sqlite().await;
        laptops_and_nodes_are_read_within_a_scope(&db).await;
    }

    #[tokio::test]
    async fn scoped_laptops_on_postgres() {
        if let Some(db) = postgres().await {
            laptops_and_nodes_are_read_within_a_scope(&db).await;
        }
    }

    /// (node, employer) rows.
    type Pairs = Vec<(String, String)>;

    /// `union_enterprises` as the migration would make it from scratch, and as held.
    async fn employers_by_node(db: &Db) -> (Pairs, Pairs) {
        let pair = |r: &dyn crate::server::db::conn::Row| Ok((r.text(0)?, r.text(1)?));
        let truth = db
            .query(
                "SELECT DISTINCT c.ancestor, e.enterprise FROM enterprise_days e
                 JOIN devices d ON d.name = e.device
                 JOIN union_closure c ON c.descendant = d.union_code ORDER BY 1, 2",
                vec![],
                pair,
            )
            .await
            .unwrap();
        let held = db
            .query(
                "SELECT code, enterprise FROM union_enterprises ORDER BY 1, 2",
                vec![],
                pair,
            )
            .await
            .unwrap();
        (truth, held)
    }

    /// The employers kept by node follow ingest, a laptop's move and a node's move.
    async fn employers_follow_every_move(db: &Db) {
        let rows = vec![
            row(2, "C0", ""),
            row(3, "D1", "C0"),
            row(4, "D2", "C0"),
            row(5, "S11", "D1"),
            row(6, "S21", "D2"),
        ];
        db.import_unions(rows).await.unwrap();
        for (name, node) in [("la", "S11"), ("lb", "S21"), ("lc", "D1")] {
            db.add_device(
                name.into(),
                NewToken::of(&format!("t0ken-{name}")),
                Some(node.into()),
            )
            .await
            .unwrap();
        }
        // as ingest writes them (the trigger keeps the nodes' rows)
        for (e, d) in [
            ("E1", "la"),
            ("E2", "la"),
            ("E2", "lb"),
            ("E3", "lb"),
            ("E4", "lc"),
        ] {
            db.execute(
                "INSERT INTO enterprise_days (enterprise, event_date, union_name, place, device)
                 VALUES ($1, $2::text::date, 'u', 'p', $3)",
                crate::server::db::conn::args![e, "2026-12-01", d],
            )
            .await
            .unwrap();
        }
        let check = |(truth, held): (Pairs, Pairs), when: &str| {
            assert!(!truth.is_empty());
            assert_eq!(held, truth, "{when}");
        };
        check(employers_by_node(db).await, "after ingest");
        db.assign_device("lb".into(), "D1".into()).await.unwrap();
        check(employers_by_node(db).await, "after a laptop's move");
        db.import_unions(vec![row(2, "S11", "D2")]).await.unwrap();
        check(employers_by_node(db).await, "after a node's move");
        db.import_unions(vec![row(2, "D1", ""), row(3, "S11", "D1")])
            .await
            .unwrap();
        check(
            employers_by_node(db).await,
            "after a district left the city",
        );
    }

    #[tokio::test]
    async fn employers_by_node_on_sqlite() {
        let (_dir, db) = sqlite().await;
        employers_follow_every_move(&db).await;
    }

    #[tokio::test]
    async fn employers_by_node_on_postgres() {
        if let Some(db) = postgres().await {
            employers_follow_every_move(&db).await;
        }
    }

    #[tokio::test]
    async fn the_tree_on_sqlite() {
        let (_dir, db) = sqlite().await;
        the_tree_is_kept_and_its_closure_follows(&db).await;
    }

    #[tokio::test]
    async fn the_tree_on_postgres() {
        if let Some(db) = postgres().await {
            the_tree_is_kept_and_its_closure_follows(&db).await;
        }
    }
}
