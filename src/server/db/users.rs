//! Office users, their console sessions and failed-login counts: all in the database, so
//! several servers behind one load balancer share them (a session opened on one is valid on
//! the next; a password guessed at on one is slowed down on all).

use serde::Serialize;

use super::conn::{Conn, args, first, only};
use super::sql::sql;
use super::{Db, DbError, changed_a_row};
use crate::server::unions::Scope;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Viewer,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct UserRow {
    pub name: String,
    pub role: Role,
    /// Argon2id, PHC string.
    pub password_hash: String,
    /// The part of the union tree the user sees (SPEC §11).
    pub scope: Scope,
}

/// A live session: whose, and the token its forms must carry.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub user: String,
    pub role: Role,
    /// The part of the union tree the user sees (SPEC §11).
    pub scope: Scope,
    pub csrf: String,
    pub created_at: i64,
    pub seen_at: i64,
}

/// How console logins are counted (docs/console.md, "Failed logins"), all in the
/// `login_failures` table, one row per key:
///
/// - `pair:NAME|ADDRESS` — guesses at one name from one address (an IPv6 /64): counted
///   *before* the password is checked, in one statement, so however many arrive at once at
///   most `per_pair` are checked per `window`. `failures` counts the window's guesses,
///   `locked_until` is when the window ends. A right password clears the row.
/// - `addr:ADDRESS` — guesses from one address at any name, the same way (`per_address`);
///   a right password takes its own guess back (an office behind one NAT address has many
///   users).
/// - `user:NAME` — failures at one name from anywhere within `forget`. Past `name_free` of
///   them, a guess from an address that has itself failed at this name waits its turn in a
///   queue (`locked_until`: the next free turn, one per `queue_step`), at most `queue_wait`;
///   a guess from an address that has not failed at the name goes straight through, so the
///   real user is never locked out by guesses from elsewhere.
///
/// Names no user has share one of [`UNKNOWN_NAME_BUCKETS`] keys each (`user:?3f2`): a
/// flood of made-up names makes a bounded number of rows. Rows idle for `forget` are deleted
/// as failures come in.
#[derive(Clone, Copy, Debug)]
pub struct Throttle {
    pub per_pair: i64,
    pub per_address: i64,
    pub window: i64,
    pub name_free: i64,
    pub queue_step: i64,
    pub queue_wait: i64,
    pub forget: i64,
}

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle {
            per_pair: 5,
            per_address: 20,
            window: 15 * 60,
            name_free: 5,
            queue_step: 5,
            // a browser's request waits this long at most (the idle timeout is 60 s)
            queue_wait: 30,
            forget: 60 * 60,
        }
    }
}

/// Keys shared by names no user has.
pub const UNKNOWN_NAME_BUCKETS: u16 = 1024;

/// What a login may do before its password is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Check it, after `wait` seconds in the name's queue.
    Check { wait: i64 },
    /// Refused unchecked: this many guesses already, come back in `retry_after` seconds.
    Refused { retry_after: i64 },
}

/// The throttle's keys for one login.
#[derive(Clone, Debug)]
pub struct LoginKeys {
    pub user: String,
    pub pair: String,
    pub address: String,
}

impl LoginKeys {
    /// `name_key`: the user's name when the user exists, else a bucket for the name.
    pub fn new(name_key: &str, address_group: &str) -> LoginKeys {
        LoginKeys {
            user: format!("user:{name_key}"),
            pair: format!("pair:{name_key}|{address_group}"),
            address: format!("addr:{address_group}"),
        }
    }

    /// The key standing for a name no user has: one of [`UNKNOWN_NAME_BUCKETS`].
    pub fn unknown_name(name: &str) -> String {
        let h = crate::protocol::token_hash(name);
        let n = u16::from_str_radix(&h[..4], 16).unwrap_or(0) % UNKNOWN_NAME_BUCKETS;
        format!("?{n:03x}")
    }
}

impl Db {
    /// A new office user, seeing the node `union` and everything below it (SPEC §11).
    pub async fn add_user(
        &self,
        name: String,
        role: Role,
        hash: String,
        union: String,
    ) -> Result<(), DbError> {
        self.transaction(move |c| {
            Box::pin(async move {
                super::unions::known_union(c, &union).await?;
                let n = c
                    .execute(
                        sql!(
                            "INSERT INTO office_users (name, role, password_hash, created_at,
                                union_code)
                             VALUES ($1, $2, $3, now(), $4) ON CONFLICT DO NOTHING"
                        ),
                        &args![name, role.code(), hash, union],
                    )
                    .await?;
                changed_a_row(n, DbError::UserExists)
            })
        })
        .await
    }

    /// Removes the user and ends every session of theirs at once.
    pub async fn remove_user(&self, name: String) -> Result<(), DbError> {
        self.transaction(move |c| Box::pin(remove_user(c, name)))
            .await
    }

    pub async fn user(&self, name: String) -> Result<Option<UserRow>, DbError> {
        let row = self
            .query(
                sql!(
                    "SELECT name, role, password_hash, union_code FROM office_users
                     WHERE name = $1"
                ),
                args![name],
                |r| Ok((r.text(0)?, r.text(1)?, r.text(2)?, r.text(3)?)),
            )
            .await
            .map(first)?;
        Ok(row.and_then(|(name, role, password_hash, union)| {
            Some(UserRow {
                name,
                role: Role::parse(&role)?,
                password_hash,
                scope: Scope::of_code(&union),
            })
        }))
    }

    pub async fn create_session(
        &self,
        id_hash: String,
        user: String,
        csrf: String,
        now: i64,
    ) -> Result<(), DbError> {
        self.execute(
            sql!(
                "INSERT INTO console_sessions (id_hash, user_name, csrf, created_at, seen_at)
                 VALUES ($1, $2, $3, $4, $4)"
            ),
            args![id_hash, user, csrf, now],
        )
        .await?;
        Ok(())
    }

    /// The session and its user (a removed user has none).
    pub async fn session(&self, id_hash: String) -> Result<Option<SessionRow>, DbError> {
        let raw = self
            .query(
                sql!(
                    "SELECT s.user_name, u.role, s.csrf, s.created_at, s.seen_at, u.union_code
                     FROM console_sessions s JOIN office_users u ON u.name = s.user_name
                     WHERE s.id_hash = $1"
                ),
                args![id_hash],
                |r| {
                    Ok((
                        (r.text(0)?, r.text(1)?, r.text(2)?),
                        (r.int(3)?, r.int(4)?, r.text(5)?),
                    ))
                },
            )
            .await
            .map(first)?;
        Ok(
            raw.and_then(|((user, role, csrf), (created_at, seen_at, union))| {
                Some(SessionRow {
                    user,
                    role: Role::parse(&role)?,
                    scope: Scope::of_code(&union),
                    csrf,
                    created_at,
                    seen_at,
                })
            }),
        )
    }

    pub async fn touch_session(&self, id_hash: String, now: i64) -> Result<(), DbError> {
        self.execute(
            sql!("UPDATE console_sessions SET seen_at = $2 WHERE id_hash = $1"),
            args![id_hash, now],
        )
        .await?;
        Ok(())
    }

    /// Ends a session, and every session idle since `idle_before` or opened before
    /// `opened_before` (expired ones leave the table as they are met).
    pub async fn end_sessions(
        &self,
        id_hash: Option<String>,
        idle_before: i64,
        opened_before: i64,
    ) -> Result<(), DbError> {
        self.execute(
            sql!(
                "DELETE FROM console_sessions
                 WHERE id_hash = $1 OR seen_at < $2 OR created_at < $3"
            ),
            args![id_hash.unwrap_or_default(), idle_before, opened_before],
        )
        .await?;
        Ok(())
    }

    /// Console sessions still open: seen since `idle_before` and opened since `opened_before`.
    pub async fn live_sessions(
        &self,
        idle_before: i64,
        opened_before: i64,
    ) -> Result<u64, DbError> {
        self.query(
            sql!(
                "SELECT count(*) FROM console_sessions
                 WHERE seen_at >= $1 AND created_at >= $2"
            ),
            args![idle_before, opened_before],
            |r| r.count(0),
        )
        .await
        .map(|v| v.into_iter().next().unwrap_or(0))
    }

    /// Counts a guess against its pair and its address before it is checked, and takes its
    /// turn in the name's queue when its address has failed at the name before.
    pub async fn login_admit(
        &self,
        keys: LoginKeys,
        now: i64,
        t: Throttle,
    ) -> Result<Admission, DbError> {
        self.with(move |c| Box::pin(login_admit(c, keys, now, t)))
            .await
    }

    /// A wrong password (or no such user): counted against the name; idle rows leave.
    pub async fn login_failed(
        &self,
        keys: LoginKeys,
        now: i64,
        t: Throttle,
    ) -> Result<(), DbError> {
        self.with(move |c| Box::pin(login_failed(c, keys, now, t)))
            .await
    }

    /// A right password: the pair's count is cleared, the address's guess taken back. (The
    /// name's failures stay until they expire: a success does not show the guessing is over.)
    pub async fn login_succeeded(&self, keys: LoginKeys) -> Result<(), DbError> {
        self.with(move |c| {
            Box::pin(async move {
                c.execute(
                    sql!("DELETE FROM login_failures WHERE key = $1"),
                    &args![keys.pair],
                )
                .await?;
                c.execute(
                    sql!(
                        "UPDATE login_failures SET failures = failures - 1
                         WHERE key = $1 AND failures > 0"
                    ),
                    &args![keys.address],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// `booth server unlock-user NAME`: the name's failures and queue, and every address's
    /// count of guesses at it, forgotten. How many rows went.
    pub async fn unlock_user(&self, name: String) -> Result<u64, DbError> {
        let pair_prefix = format!("pair:{name}|");
        self.execute(
            sql!(
                "DELETE FROM login_failures
                 WHERE key = $1 OR substr(key, 1, length(CAST($2 AS TEXT))) = $2"
            ),
            args![format!("user:{name}"), pair_prefix],
        )
        .await
    }

    /// Every office user and role (for `booth server users` and tests).
    pub async fn users(&self) -> Result<Vec<(String, Role)>, DbError> {
        let raw = self
            .query(
                sql!("SELECT name, role FROM office_users ORDER BY name"),
                vec![],
                |r| Ok((r.text(0)?, r.text(1)?)),
            )
            .await?;
        Ok(raw
            .into_iter()
            .filter_map(|(n, r)| Some((n, Role::parse(&r)?)))
            .collect())
    }
}

async fn remove_user(c: &Conn<'_>, name: String) -> Result<(), DbError> {
    let name = args![name];
    let n = c
        .execute(sql!("DELETE FROM office_users WHERE name = $1"), &name)
        .await?;
    let sessions = sql!("DELETE FROM console_sessions WHERE user_name = $1");
    c.execute(sessions, &name).await?;
    changed_a_row(n, DbError::NoSuchUser)
}

async fn login_admit(
    c: &Conn<'_>,
    keys: LoginKeys,
    now: i64,
    t: Throttle,
) -> Result<Admission, DbError> {
    // One guess more against `key` within its window (a new window when the last has
    // ended), in one statement: the count and the window's end, as the database left them.
    let count = |key: String| async move {
        let statement = sql!(
            "INSERT INTO login_failures (key, failures, last_at, locked_until)
             VALUES ($1, 1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET
                failures = CASE WHEN login_failures.locked_until <= $2 THEN 1
                                ELSE login_failures.failures + 1 END,
                locked_until = CASE WHEN login_failures.locked_until <= $2 THEN $3
                                    ELSE login_failures.locked_until END,
                last_at = $2
             RETURNING failures, locked_until"
        );
        c.query(statement, &args![key, now, now + t.window], |r| {
            Ok((r.int(0)?, r.int(1)?))
        })
        .await
        .and_then(only)
    };
    let (pair_guesses, pair_ends) = count(keys.pair).await?;
    if pair_guesses > t.per_pair {
        return Ok(Admission::Refused {
            retry_after: (pair_ends - now).max(1),
        });
    }
    let (address_guesses, address_ends) = count(keys.address).await?;
    if address_guesses > t.per_address {
        return Ok(Admission::Refused {
            retry_after: (address_ends - now).max(1),
        });
    }
    if pair_guesses == 1 {
        // this address has not guessed wrong at this name: no queue
        return Ok(Admission::Check { wait: 0 });
    }
    let forget_before = now - t.forget;
    // a turn in the name's queue, taken in one statement when the name is past its free
    // failures and the queue is not full
    let turn = c
        .query(
            sql!(
                "UPDATE login_failures
                 SET locked_until = CASE WHEN locked_until > $2 THEN locked_until + $3 ELSE $4 END
                 WHERE key = $1 AND failures >= $5 AND last_at >= $6 AND locked_until <= $7
                 RETURNING locked_until"
            ),
            &args![
                keys.user.clone(),
                now,
                t.queue_step,
                now + t.queue_step,
                t.name_free,
                forget_before,
                now + t.queue_wait
            ],
            |r| r.int(0),
        )
        .await
        .map(first)?;
    if let Some(next_free) = turn {
        return Ok(Admission::Check {
            wait: (next_free - t.queue_step - now).max(0),
        });
    }
    // no turn taken: the name has no queue, or its queue is full
    let row = c
        .query(
            sql!("SELECT failures, last_at, locked_until FROM login_failures WHERE key = $1"),
            &args![keys.user],
            |r| Ok((r.int(0)?, r.int(1)?, r.int(2)?)),
        )
        .await
        .map(first)?;
    Ok(match row {
        Some((failures, last_at, next_free))
            if failures >= t.name_free && last_at >= forget_before =>
        {
            Admission::Refused {
                retry_after: (next_free - now - t.queue_wait).max(1),
            }
        }
        _ => Admission::Check { wait: 0 },
    })
}

async fn login_failed(c: &Conn<'_>, keys: LoginKeys, now: i64, t: Throttle) -> Result<(), DbError> {
    let forget_before = now - t.forget;
    c.execute(
        sql!(
            "INSERT INTO login_failures (key, failures, last_at, locked_until) VALUES ($1, 1, $2, 0)
             ON CONFLICT (key) DO UPDATE SET
                failures = CASE WHEN login_failures.last_at < $3 THEN 1
                                ELSE login_failures.failures + 1 END,
                last_at = $2"
        ),
        &args![keys.user, now, forget_before],
    )
    .await?;
    // rows of names and addresses nobody has tried for a while leave the table
    c.execute(
        sql!("DELETE FROM login_failures WHERE last_at < $1 AND locked_until < $2"),
        &args![forget_before, now],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_share_a_bounded_number_of_keys() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..20_000 {
            seen.insert(LoginKeys::unknown_name(&format!("name{i}")));
        }
        assert!(seen.len() <= UNKNOWN_NAME_BUCKETS as usize);
        assert_eq!(
            LoginKeys::unknown_name("x"),
            LoginKeys::unknown_name("x"),
            "a name keeps its key"
        );
        assert!(seen.iter().all(|k| k.starts_with('?')));
    }

    async fn rows(db: &Db) -> i64 {
        db.query(sql!("SELECT count(*) FROM login_failures"), vec![], |r| {
            r.int(0)
        })
        .await
        .and_then(only)
        .unwrap()
    }

    /// The throttle's rules, step by step with a clock of our own (the loopback tests in
    /// tests/console_attacks.rs run the same on PostgreSQL, concurrently).
    #[tokio::test]
    async fn guesses_are_counted_before_checking_and_a_failed_address_queues() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("office.db").display());
        let db = Db::open(&url).await.unwrap();
        let t = Throttle::default();
        let now = 1_000_000;
        let from = |addr: &str| LoginKeys::new("admin", addr);
        // five guesses per name and address per window, the sixth refused unchecked
        for _ in 0..5 {
            let a = db.login_admit(from("10.0.0.1"), now, t).await.unwrap();
            assert_eq!(a, Admission::Check { wait: 0 });
            db.login_failed(from("10.0.0.1"), now, t).await.unwrap();
        }
        let a = db.login_admit(from("10.0.0.1"), now, t).await.unwrap();
        assert_eq!(
            a,
            Admission::Refused {
                retry_after: t.window
            }
        );
        // the name has failed 5 times: a fresh address still goes straight through
        let a = db.login_admit(from("10.0.0.2"), now, t).await.unwrap();
        assert_eq!(a, Admission::Check { wait: 0 });
        db.login_failed(from("10.0.0.2"), now, t).await.unwrap();
        // and, having failed, queues: turns one `queue_step` apart, up to `queue_wait`
        let mut waits = Vec::new();
        for _ in 0..4 {
            match db.login_admit(from("10.0.0.2"), now, t).await.unwrap() {
                Admission::Check { wait } => waits.push(wait),
                r => panic!("{r:?}"),
            }
        }
        assert_eq!(waits, [0, 5, 10, 15]);
        // other failed addresses share the name's queue until it is full
        for (i, w) in [20, 25, 30].iter().enumerate() {
            let addr = format!("10.0.1.{i}");
            db.login_admit(from(&addr), now, t).await.unwrap();
            db.login_failed(from(&addr), now, t).await.unwrap();
            let a = db.login_admit(from(&addr), now, t).await.unwrap();
            assert_eq!(a, Admission::Check { wait: *w }, "{addr}");
        }
        let a = db.login_admit(from("10.0.1.0"), now, t).await.unwrap();
        assert_eq!(a, Admission::Refused { retry_after: 5 });
        // a right password clears its pair
        db.login_succeeded(from("10.0.0.2")).await.unwrap();
        let a = db.login_admit(from("10.0.0.2"), now, t).await.unwrap();
        assert_eq!(a, Admission::Check { wait: 0 });
        // unlock-user forgets the name and every pair at it, not the addresses
        assert!(db.unlock_user("admin".into()).await.unwrap() >= 6);
        let a = db.login_admit(from("10.0.0.1"), now, t).await.unwrap();
        assert_eq!(a, Admission::Check { wait: 0 });
        // an address's own count: twenty guesses at any names per window
        for i in 0..20 {
            let keys = LoginKeys::new(&LoginKeys::unknown_name(&format!("n{i}")), "10.9.9.9");
            let a = db.login_admit(keys, now, t).await.unwrap();
            assert_eq!(a, Admission::Check { wait: 0 }, "{i}");
        }
        let keys = LoginKeys::new("someone", "10.9.9.9");
        assert!(matches!(
            db.login_admit(keys, now, t).await.unwrap(),
            Admission::Refused { .. }
        ));
        // rows idle for `forget` leave as later failures come in
        assert!(rows(&db).await > 20);
        let later = now + t.forget + t.window + 1;
        db.login_failed(from("10.0.0.3"), later, t).await.unwrap();
        assert_eq!(rows(&db).await, 1, "only the new failure's row is left");
    }
}
