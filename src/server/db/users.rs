//! Office users, their console sessions and failed-login counts: all in the database, so
//! several servers behind one load balancer share them (a session opened on one is valid on
//! the next; a password guessed at on one is slowed down on all).

use serde::Serialize;

use super::conn::{Conn, Value, args, first, only};
use super::sql::sql;
use super::{Db, DbError, changed_a_row};

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
}

/// A live session: whose, and the token its forms must carry.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub user: String,
    pub role: Role,
    pub csrf: String,
    pub created_at: i64,
    pub seen_at: i64,
}

/// How failed logins are slowed (per user and per address): `free` failures pass, then each
/// further one locks the key for 1 s, 2 s, 4 s … up to `max_lock` s. Failures older than
/// `forget` s start the count afresh.
#[derive(Clone, Copy, Debug)]
pub struct Throttle {
    pub free_per_user: i64,
    pub free_per_address: i64,
    pub max_lock: i64,
    pub forget: i64,
}

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle {
            free_per_user: 5,
            // an office behind one NAT address has many users
            free_per_address: 20,
            max_lock: 15 * 60,
            forget: 60 * 60,
        }
    }
}

/// Seconds a key is locked after its `failures`-th failure.
/// The first lock is long enough to stop a script (a guess a second would otherwise go on
/// at nearly full speed) and doubles from there.
pub fn lock_seconds(failures: i64, free: i64, max_lock: i64) -> i64 {
    const FIRST_LOCK: i64 = 30;
    if failures < free {
        0
    } else {
        let exp = (failures - free).min(20) as u32;
        (FIRST_LOCK << exp).min(max_lock)
    }
}

impl Db {
    pub async fn add_user(&self, name: String, role: Role, hash: String) -> Result<(), DbError> {
        let n = self
            .execute(
                sql!(
                    "INSERT INTO office_users (name, role, password_hash, created_at)
                     VALUES ($1, $2, $3, now()) ON CONFLICT DO NOTHING"
                ),
                args![name, role.code(), hash],
            )
            .await?;
        changed_a_row(n, DbError::UserExists)
    }

    /// Removes the user and ends every session of theirs at once.
    pub async fn remove_user(&self, name: String) -> Result<(), DbError> {
        self.transaction(move |c| Box::pin(remove_user(c, name)))
            .await
    }

    pub async fn user(&self, name: String) -> Result<Option<UserRow>, DbError> {
        let row = self
            .query(
                sql!("SELECT name, role, password_hash FROM office_users WHERE name = $1"),
                args![name],
                |r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)),
            )
            .await
            .map(first)?;
        Ok(row.and_then(|(name, role, password_hash)| {
            Some(UserRow {
                name,
                role: Role::parse(&role)?,
                password_hash,
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
                    "SELECT s.user_name, u.role, s.csrf, s.created_at, s.seen_at
                     FROM console_sessions s JOIN office_users u ON u.name = s.user_name
                     WHERE s.id_hash = $1"
                ),
                args![id_hash],
                |r| Ok((r.text(0)?, r.text(1)?, r.text(2)?, r.int(3)?, r.int(4)?)),
            )
            .await
            .map(first)?;
        Ok(raw.and_then(|(user, role, csrf, created_at, seen_at)| {
            Some(SessionRow {
                user,
                role: Role::parse(&role)?,
                csrf,
                created_at,
                seen_at,
            })
        }))
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

    /// Seconds until any of `keys` may try to log in again (0: now).
    pub async fn login_wait(&self, keys: Vec<String>, now: i64) -> Result<i64, DbError> {
        if keys.is_empty() {
            return Ok(0);
        }
        let list: Vec<String> = (1..=keys.len()).map(|i| format!("${i}")).collect();
        let until = self
            .query(
                format!(
                    "SELECT max(locked_until) FROM login_failures WHERE key IN ({})",
                    list.join(", ")
                ),
                keys.into_iter().map(Value::from).collect::<Vec<_>>(),
                |r| r.opt_int(0),
            )
            .await
            .map(first)?
            .flatten();
        Ok(until.map_or(0, |u| (u - now).max(0)))
    }

    /// Counts a failed login against each `(key, free failures)`, locking as [`Throttle`] says.
    pub async fn login_failed(
        &self,
        keys: Vec<(String, i64)>,
        now: i64,
        throttle: Throttle,
    ) -> Result<(), DbError> {
        self.transaction(move |c| Box::pin(login_failed(c, keys, now, throttle)))
            .await
    }

    /// A good password clears the user's count (not the address's: one account's owner
    /// must not be able to wipe the count of guesses at others from the same address).
    pub async fn login_succeeded(&self, key: String) -> Result<(), DbError> {
        self.execute(
            sql!("DELETE FROM login_failures WHERE key = $1"),
            args![key],
        )
        .await?;
        Ok(())
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

async fn login_failed(
    c: &Conn<'_>,
    keys: Vec<(String, i64)>,
    now: i64,
    throttle: Throttle,
) -> Result<(), DbError> {
    let forget_before = now - throttle.forget;
    let count = sql!(
        "INSERT INTO login_failures (key, failures, last_at, locked_until) VALUES ($1, 1, $2, 0)
         ON CONFLICT (key) DO UPDATE SET
            failures = CASE WHEN login_failures.last_at < $3 THEN 1
                            ELSE login_failures.failures + 1 END,
            last_at = $2
         RETURNING failures"
    );
    let lock = sql!("UPDATE login_failures SET locked_until = $2 WHERE key = $1");
    for (key, free) in &keys {
        let failures = c
            .query(count, &args![key, now, forget_before], |r| r.int(0))
            .await
            .and_then(only)?;
        let seconds = lock_seconds(failures, *free, throttle.max_lock);
        c.execute(lock, &args![key, now + seconds]).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_grow_after_the_free_tries_and_stop_at_the_cap() {
        assert_eq!(lock_seconds(4, 5, 900), 0);
        assert_eq!(lock_seconds(5, 5, 900), 30);
        assert_eq!(lock_seconds(6, 5, 900), 60);
        assert_eq!(lock_seconds(9, 5, 900), 480);
        assert_eq!(lock_seconds(10, 5, 900), 900);
        assert_eq!(lock_seconds(40, 5, 900), 900);
        assert_eq!(lock_seconds(i64::MAX, 5, 900), 900);
    }
}
