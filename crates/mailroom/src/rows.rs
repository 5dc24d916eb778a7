//! The mailing room's own rows as both SQL stores read them (`mailroom-sqlite`,
//! `mailroom-postgres`), through the bank's [`Reading`]: a value changed outside tokenline
//! is [`StoreError::Corrupt`] naming the table, the row by its key, the column and what to
//! do, as the bank names its own rows ([`lifecycle::store::columns::damaged`]).

use crate::model::{Campaign, CampaignId};
use lifecycle::store::columns::{Reading, RowKind, StoredRow};
use lifecycle::StoreError;

/// The columns [`campaign_at`] reads.
pub const CAMPAIGN_COLS: &str = "number, name, target_expiry, include_earlier, min_new_expiry, \
     deadline, sender, created_at, cancelled_at";

/// [`campaign_at`]'s row.
pub const MAIL_CAMPAIGNS: RowKind = RowKind {
    table: "mail_campaigns",
    columns: &[
        "number",
        "name",
        "target_expiry",
        "include_earlier",
        "min_new_expiry",
        "deadline",
        "sender",
        "created_at",
        "cancelled_at",
    ],
    key: &[0],
};

/// A campaign from [`CAMPAIGN_COLS`] starting at column `at`.
///
/// # Errors
/// [`StoreError::Corrupt`] naming the row (by its number) and the column, for a value that
/// is not one.
pub fn campaign_at(r: &impl StoredRow, at: usize) -> Result<Campaign, StoreError> {
    let row = Reading::new(r, at, &MAIL_CAMPAIGNS);
    Ok(Campaign {
        id: CampaignId::new(row.column(0, |r, c| {
            u32::try_from(r.int(c)?).map_err(|e| StoreError::Corrupt(format!("not a number: {e}")))
        })?),
        name: row.text(1)?,
        target_expiry: row.date(2)?,
        include_earlier: row.flag(3)?,
        min_new_expiry: row.date(4)?,
        deadline: row.date(5)?,
        sender: row.text(6)?,
        created_at: row.time(7)?,
        cancelled_at: row.opt_time(8)?,
    })
}
