//! [`MailTx`] on a rusqlite transaction.

use crate::bank_view::{
    backend, corrupt, customer_at, customer_id, customer_id_at, grouped_expiry, login, opt_ts,
    parse_date, parse_ts, serial, token_at, user_at, TOKEN_COLS, USER_COLS,
};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use lifecycle::{Customer, CustomerId, LoginId, SerialNumber, StoreError, TokenInfo, User};
use lifecycle_sqlite::SqlRow;
use mailroom::rows::{campaign_at, CAMPAIGN_COLS};
use mailroom::{
    Address, Campaign, CampaignId, Envelope, EnvelopeId, Event, MailTx, NewToken, OldToken,
    Placement,
};
use rusqlite::{params, OptionalExtension};
use std::collections::BTreeMap;

pub(crate) struct SqlMailTx<'a> {
    pub(crate) tx: &'a rusqlite::Transaction<'a>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn sql<T>(r: rusqlite::Result<T>) -> Result<T, StoreError> {
    r.map_err(backend)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn number(n: i64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|e| corrupt("number", e))
}

/// Also selects the tokens whose `expiry` is not date-shaped text, which a comparison with
/// a date would leave out without a word: their decoding names them (`tokens`, serial,
/// `expiry`), so a plan reports them instead of skipping their holders.
const EXPIRY_NOT_A_DATE: &str =
    "OR NOT (t.expiry GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]')";

impl SqlMailTx<'_> {
    fn campaigns_where(
        &self,
        clause: &str,
        p: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Campaign>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(&format!(
            "SELECT {CAMPAIGN_COLS} FROM mail_campaigns {clause} ORDER BY number"
        )))?;
        let rows = sql(st.query_map(p, |r| Ok(campaign_at(&SqlRow(r), 0))))?;
        rows.map(|r| sql(r)?).collect()
    }

    /// Envelopes of a campaign (optionally one), with their tokens.
    fn load_envelopes(
        &self,
        campaign: CampaignId,
        only: Option<EnvelopeId>,
    ) -> Result<Vec<Envelope>, StoreError> {
        let c = i64::from(campaign.number());
        let e = only.map(|e| i64::from(e.number()));
        let mut envs: BTreeMap<u32, Envelope> = BTreeMap::new();
        {
            let mut st = sql(self.tx.prepare_cached(
                "SELECT number, customer, shipping_started_at, shipped_at FROM mail_envelopes WHERE campaign = ?1 AND (?2 IS NULL OR number = ?2) ORDER BY number",
            ))?;
            let rows = sql(st.query_map(params![c, e], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            }))?;
            for r in rows {
                let (n, cust, started, shipped) = sql(r)?;
                let n = number(n)?;
                envs.insert(
                    n,
                    Envelope {
                        campaign,
                        id: EnvelopeId::new(n),
                        customer: customer_id(cust)?,
                        old_tokens: Vec::new(),
                        new_tokens: Vec::new(),
                        shipping_started_at: opt_ts(started)?,
                        shipped_at: opt_ts(shipped)?,
                    },
                );
            }
        }
        {
            let mut st = sql(self.tx.prepare_cached(
                "SELECT envelope, serial, expiry, users FROM mail_old_tokens WHERE campaign = ?1 AND (?2 IS NULL OR envelope = ?2) ORDER BY envelope, slot",
            ))?;
            let rows = sql(st.query_map(params![c, e], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            }))?;
            for r in rows {
                let (n, s, expiry, users) = sql(r)?;
                let users: Vec<String> =
                    serde_json::from_str(&users).map_err(|e| corrupt("envelope users", e))?;
                let users = users
                    .into_iter()
                    .map(login)
                    .collect::<Result<Vec<LoginId>, _>>()?;
                let env = envs
                    .get_mut(&number(n)?)
                    .ok_or_else(|| corrupt("old token", "envelope missing"))?;
                env.old_tokens.push(OldToken {
                    serial: serial(s)?,
                    expiry: parse_date(&expiry)?,
                    users,
                });
            }
        }
        {
            let mut st = sql(self.tx.prepare_cached(
                "SELECT envelope, serial, expiry, batch, packed_at FROM mail_new_tokens WHERE campaign = ?1 AND (?2 IS NULL OR envelope = ?2) ORDER BY envelope, slot",
            ))?;
            let rows = sql(st.query_map(params![c, e], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            }))?;
            for r in rows {
                let (n, s, expiry, batch, packed) = sql(r)?;
                let env = envs
                    .get_mut(&number(n)?)
                    .ok_or_else(|| corrupt("new token", "envelope missing"))?;
                env.new_tokens.push(NewToken {
                    serial: serial(s)?,
                    expiry: parse_date(&expiry)?,
                    batch,
                    packed_at: opt_ts(packed)?,
                });
            }
        }
        Ok(envs.into_values().collect())
    }

    fn placement(&self, table: &str, s: &SerialNumber) -> Result<Option<Placement>, StoreError> {
        let packed = if table == "mail_new_tokens" {
            "packed_at"
        } else {
            "NULL"
        };
        let mut st = sql(self.tx.prepare_cached(&format!(
            "SELECT campaign, envelope, {packed} FROM {table} WHERE serial = ?1"
        )))?;
        let raw = sql(st
            .query_row([s.as_str()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })
            .optional())?;
        raw.map(|(c, e, p)| {
            Ok(Placement {
                campaign: CampaignId::new(number(c)?),
                envelope: EnvelopeId::new(number(e)?),
                packed_at: opt_ts(p)?,
            })
        })
        .transpose()
    }

    fn set_envelope_time(
        &self,
        column: &str,
        campaign: CampaignId,
        id: EnvelopeId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let n = sql(self.tx.execute(
            &format!("UPDATE mail_envelopes SET {column} = ?3 WHERE campaign = ?1 AND number = ?2"),
            params![i64::from(campaign.number()), i64::from(id.number()), ts(at)],
        ))?;
        if n == 0 {
            return Err(StoreError::Missing {
                what: "envelope",
                key: format!("{campaign}/{id}"),
            });
        }
        Ok(())
    }
}

impl MailTx for SqlMailTx<'_> {
    fn customer(&mut self, id: &CustomerId) -> Result<Option<Customer>, StoreError> {
        let mut st = sql(self
            .tx
            .prepare_cached("SELECT id, name, mode, secret_hash FROM customers WHERE id = ?1"))?;
        sql(st
            .query_row([id.as_str()], |r| Ok(customer_at(r, 0)))
            .optional())?
        .transpose()
    }

    fn customer_ids(&mut self) -> Result<Vec<CustomerId>, StoreError> {
        let mut st = sql(self
            .tx
            .prepare_cached("SELECT id FROM customers ORDER BY id"))?;
        let rows = sql(st.query_map([], |r| Ok(customer_id_at(r, 0))))?;
        rows.map(|r| sql(r)?).collect()
    }

    fn users_of_customer(&mut self, id: &CustomerId) -> Result<Vec<User>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(&format!(
            "SELECT {USER_COLS} FROM users u WHERE u.customer = ?1 ORDER BY u.login"
        )))?;
        let rows = sql(st.query_map([id.as_str()], |r| Ok(user_at(r, 0))))?;
        rows.map(|r| sql(r)?).collect()
    }

    fn token(&mut self, s: &SerialNumber) -> Result<Option<TokenInfo>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(&format!(
            "SELECT {TOKEN_COLS} FROM tokens t WHERE t.serial = ?1"
        )))?;
        sql(st
            .query_row([s.as_str()], |r| Ok(token_at(r, 0)))
            .optional())?
        .transpose()
    }

    fn users_with_tokens_expiring(
        &mut self,
        from: Option<NaiveDate>,
        through: NaiveDate,
    ) -> Result<Vec<(User, TokenInfo)>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(&format!(
            "SELECT {USER_COLS}, {TOKEN_COLS} FROM users u JOIN tokens t ON t.serial = u.serial \
             WHERE (t.expiry <= ?2 AND (?1 IS NULL OR t.expiry >= ?1)) {EXPIRY_NOT_A_DATE} \
             ORDER BY u.customer, t.serial, u.login"
        )))?;
        let rows = sql(st.query_map(params![from.map(day), day(through)], |r| {
            Ok(user_at(r, 0).and_then(|u| Ok((u, token_at(r, 13)?))))
        }))?;
        rows.map(|r| sql(r)?).collect()
    }

    fn expiry_counts(&mut self) -> Result<Vec<(NaiveDate, u64)>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(
            "SELECT t.expiry, COUNT(DISTINCT t.serial) FROM users u JOIN tokens t ON t.serial = u.serial GROUP BY t.expiry ORDER BY t.expiry",
        ))?;
        let rows = sql(st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))))?;
        rows.map(|r| {
            let (d, n) = sql(r)?;
            Ok((grouped_expiry(&d)?, u64::try_from(n).unwrap_or_default()))
        })
        .collect()
    }

    fn free_stock(&mut self, min_expiry: NaiveDate) -> Result<Vec<TokenInfo>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(&format!(
            "SELECT {TOKEN_COLS} FROM tokens t WHERE t.status = 'stock' AND t.expiry >= ?1 \
             AND NOT EXISTS (SELECT 1 FROM mail_new_tokens n WHERE n.serial = t.serial) ORDER BY t.expiry, t.batch, t.serial"
        )))?;
        let rows = sql(st.query_map([day(min_expiry)], |r| Ok(token_at(r, 0))))?;
        rows.map(|r| sql(r)?).collect()
    }

    fn substitute(
        &mut self,
        campaign: CampaignId,
        envelope: EnvelopeId,
        displaced: &SerialNumber,
        with: &TokenInfo,
        from: Option<&Placement>,
    ) -> Result<(), StoreError> {
        let c = i64::from(campaign.number());
        let slot_of = |tx: &rusqlite::Transaction<'_>,
                       s: &SerialNumber|
         -> Result<(i64, i64, String, String), StoreError> {
            sql(tx.query_row(
                "SELECT envelope, slot, expiry, batch FROM mail_new_tokens WHERE serial = ?1 AND campaign = ?2 AND packed_at IS NULL",
                params![s.as_str(), c],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            ))
        };
        let (env_d, slot_d, exp_d, batch_d) = slot_of(self.tx, displaced)?;
        if env_d != i64::from(envelope.number()) {
            return Err(StoreError::Corrupt(format!(
                "{displaced} is not reserved in envelope {envelope}"
            )));
        }
        let moved = match from {
            Some(_) => Some(slot_of(self.tx, &with.serial)?),
            None => None,
        };
        sql(self.tx.execute(
            "DELETE FROM mail_new_tokens WHERE serial IN (?1, ?2)",
            params![displaced.as_str(), with.serial.as_str()],
        ))?;
        let insert = "INSERT INTO mail_new_tokens (serial, campaign, envelope, slot, expiry, batch, packed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)";
        sql(self.tx.execute(
            insert,
            params![
                with.serial.as_str(),
                c,
                env_d,
                slot_d,
                day(with.expiry),
                with.batch
            ],
        ))?;
        if let Some((env_w, slot_w, _, _)) = moved {
            sql(self.tx.execute(
                insert,
                params![displaced.as_str(), c, env_w, slot_w, exp_d, batch_d],
            ))?;
        }
        Ok(())
    }

    fn addresses(&mut self) -> Result<Vec<Address>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(
            "SELECT customer, postal_code, address, attention, phone FROM mail_addresses ORDER BY customer",
        ))?;
        let rows = sql(st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        }))?;
        rows.map(|r| {
            let (c, postal_code, address, attention, phone) = sql(r)?;
            Ok(Address {
                customer: customer_id(c)?,
                postal_code,
                address,
                attention,
                phone,
            })
        })
        .collect()
    }

    fn cancel_campaign(&mut self, id: CampaignId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let c = i64::from(id.number());
        for table in ["mail_new_tokens", "mail_old_tokens", "mail_envelopes"] {
            sql(self
                .tx
                .execute(&format!("DELETE FROM {table} WHERE campaign = ?1"), [c]))?;
        }
        sql(self.tx.execute(
            "UPDATE mail_campaigns SET cancelled_at = ?2 WHERE number = ?1",
            params![c, ts(at)],
        ))
        .map(|_| ())
    }

    fn put_address(&mut self, a: &Address) -> Result<(), StoreError> {
        sql(self.tx.execute(
            "INSERT INTO mail_addresses (customer, postal_code, address, attention, phone) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (customer) DO UPDATE SET postal_code = excluded.postal_code, address = excluded.address, attention = excluded.attention, phone = excluded.phone",
            params![a.customer.as_str(), a.postal_code, a.address, a.attention, a.phone],
        ))
        .map(|_| ())
    }

    fn address(&mut self, customer: &CustomerId) -> Result<Option<Address>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(
            "SELECT postal_code, address, attention, phone FROM mail_addresses WHERE customer = ?1",
        ))?;
        let raw = sql(st
            .query_row([customer.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional())?;
        Ok(raw.map(|(postal_code, address, attention, phone)| Address {
            customer: customer.clone(),
            postal_code,
            address,
            attention,
            phone,
        }))
    }

    fn last_campaign_number(&mut self) -> Result<u32, StoreError> {
        let n: i64 = sql(self.tx.query_row(
            "SELECT COALESCE(MAX(number), 0) FROM mail_campaigns",
            [],
            |r| r.get(0),
        ))?;
        number(n)
    }

    fn insert_campaign(&mut self, c: &Campaign) -> Result<(), StoreError> {
        let r = self.tx.execute(
            "INSERT INTO mail_campaigns (number, name, target_expiry, include_earlier, min_new_expiry, deadline, sender, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![i64::from(c.id.number()), c.name, day(c.target_expiry), c.include_earlier, day(c.min_new_expiry), day(c.deadline), c.sender, ts(c.created_at)],
        );
        match r {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
                what: "campaign",
                key: c.id.to_string(),
            }),
            r => sql(r).map(|_| ()),
        }
    }

    fn campaign(&mut self, id: CampaignId) -> Result<Option<Campaign>, StoreError> {
        Ok(self
            .campaigns_where("WHERE number = ?1", &[&i64::from(id.number())])?
            .into_iter()
            .next())
    }

    fn campaigns(&mut self) -> Result<Vec<Campaign>, StoreError> {
        self.campaigns_where("", &[])
    }

    fn insert_envelope(&mut self, e: &Envelope) -> Result<(), StoreError> {
        let (c, n) = (i64::from(e.campaign.number()), i64::from(e.id.number()));
        let dup = |r: rusqlite::Result<usize>, key: &SerialNumber| match r {
            Err(err) if is_unique_violation(&err) => Err(StoreError::Duplicate {
                what: "token",
                key: key.to_string(),
            }),
            r => sql(r).map(|_| ()),
        };
        sql(self.tx.execute(
            "INSERT INTO mail_envelopes (campaign, number, customer, shipping_started_at, shipped_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![c, n, e.customer.as_str(), e.shipping_started_at.map(ts), e.shipped_at.map(ts)],
        ))?;
        let mut old = sql(self.tx.prepare_cached("INSERT INTO mail_old_tokens (serial, campaign, envelope, slot, expiry, users) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"))?;
        for (i, t) in e.old_tokens.iter().enumerate() {
            let users =
                serde_json::to_string(&t.users.iter().map(LoginId::as_str).collect::<Vec<_>>())
                    .map_err(|e| StoreError::Backend(e.to_string()))?;
            dup(
                old.execute(params![
                    t.serial.as_str(),
                    c,
                    n,
                    i as i64,
                    day(t.expiry),
                    users
                ]),
                &t.serial,
            )?;
        }
        let mut new = sql(self.tx.prepare_cached("INSERT INTO mail_new_tokens (serial, campaign, envelope, slot, expiry, batch, packed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"))?;
        for (i, t) in e.new_tokens.iter().enumerate() {
            dup(
                new.execute(params![
                    t.serial.as_str(),
                    c,
                    n,
                    i as i64,
                    day(t.expiry),
                    t.batch,
                    t.packed_at.map(ts)
                ]),
                &t.serial,
            )?;
        }
        Ok(())
    }

    fn envelopes(&mut self, campaign: CampaignId) -> Result<Vec<Envelope>, StoreError> {
        self.load_envelopes(campaign, None)
    }

    fn envelope(
        &mut self,
        campaign: CampaignId,
        id: EnvelopeId,
    ) -> Result<Option<Envelope>, StoreError> {
        Ok(self.load_envelopes(campaign, Some(id))?.into_iter().next())
    }

    fn replaced_in(&mut self, s: &SerialNumber) -> Result<Option<Placement>, StoreError> {
        self.placement("mail_old_tokens", s)
    }

    fn allocated_to(&mut self, s: &SerialNumber) -> Result<Option<Placement>, StoreError> {
        self.placement("mail_new_tokens", s)
    }

    fn set_packed(&mut self, s: &SerialNumber, at: DateTime<Utc>) -> Result<(), StoreError> {
        let n = sql(self.tx.execute(
            "UPDATE mail_new_tokens SET packed_at = ?2 WHERE serial = ?1 AND packed_at IS NULL",
            params![s.as_str(), ts(at)],
        ))?;
        if n == 0 {
            return Err(StoreError::Missing {
                what: "unpacked allocation",
                key: s.to_string(),
            });
        }
        Ok(())
    }

    fn set_shipping_started(
        &mut self,
        campaign: CampaignId,
        id: EnvelopeId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.set_envelope_time("shipping_started_at", campaign, id, at)
    }

    fn set_shipped(
        &mut self,
        campaign: CampaignId,
        id: EnvelopeId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.set_envelope_time("shipped_at", campaign, id, at)
    }

    fn append_event(&mut self, e: &Event) -> Result<i64, StoreError> {
        sql(self.tx.execute(
            "INSERT INTO mail_events (at, actor, action, campaign, envelope, subject, outcome, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                ts(e.at),
                e.actor,
                e.action,
                e.campaign.map(|c| i64::from(c.number())),
                e.envelope.map(|c| i64::from(c.number())),
                e.subject,
                e.outcome,
                e.detail
            ],
        ))?;
        Ok(self.tx.last_insert_rowid())
    }

    fn events(
        &mut self,
        campaign: Option<CampaignId>,
        limit: Option<usize>,
    ) -> Result<Vec<Event>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(
            "SELECT id, at, actor, action, campaign, envelope, subject, outcome, detail FROM \
             (SELECT * FROM mail_events WHERE ?1 IS NULL OR campaign = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
        ))?;
        let lim = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        type Raw = (
            i64,
            String,
            String,
            String,
            Option<i64>,
            Option<i64>,
            Option<String>,
            String,
            String,
        );
        let rows = sql(
            st.query_map(params![campaign.map(|c| i64::from(c.number())), lim], |r| {
                Ok::<Raw, _>((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            }),
        )?;
        rows.map(|r| {
            let (id, at, actor, action, c, e, subject, outcome, detail) = sql(r)?;
            Ok(Event {
                id,
                at: parse_ts(&at)?,
                actor,
                action,
                campaign: c.map(number).transpose()?.map(CampaignId::new),
                envelope: e.map(number).transpose()?.map(EnvelopeId::new),
                subject,
                outcome,
                detail,
            })
        })
        .collect()
    }
}
