//! The laptops the office knows, for the console's `/devices`.

use serde::Serialize;

use super::postgres::utc_text;
use super::{Db, DbError, blocking};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceRow {
    pub name: String,
    /// The laptop key its token is bound to (after its first upload).
    pub key_id: Option<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// When the office last received a record from it.
    pub last_upload: Option<String>,
}

impl Db {
    /// Every device, by name. The last upload is one index seek per device
    /// (`members (device, received_at)`), not a scan of the members.
    pub async fn device_list(&self) -> Result<Vec<DeviceRow>, DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || {
                    let conn = db.lock();
                    let mut stmt = conn.prepare_cached(
                        "SELECT d.name, d.key_id, d.created_at, d.revoked_at,
                            (SELECT max(m.received_at) FROM members m WHERE m.device = d.name)
                         FROM devices d ORDER BY d.name",
                    )?;
                    let rows = stmt.query_map([], |r| {
                        Ok(DeviceRow {
                            name: r.get(0)?,
                            key_id: r.get(1)?,
                            created_at: r.get(2)?,
                            revoked_at: r.get(3)?,
                            last_upload: r.get(4)?,
                        })
                    })?;
                    Ok(rows.collect::<Result<_, _>>()?)
                })
                .await
            }
            Db::Postgres(db) => {
                let sql = format!(
                    "SELECT d.name, d.key_id, {}, {},
                        (SELECT {} FROM members m WHERE m.device = d.name)
                     FROM devices d ORDER BY d.name",
                    utc_text("d.created_at"),
                    utc_text("d.revoked_at"),
                    utc_text("max(m.received_at)")
                );
                Ok(db
                    .client()
                    .await?
                    .query(&sql, &[])
                    .await?
                    .iter()
                    .map(|r| DeviceRow {
                        name: r.get(0),
                        key_id: r.get(1),
                        created_at: r.get(2),
                        revoked_at: r.get(3),
                        last_upload: r.get(4),
                    })
                    .collect())
            }
        }
    }
}
