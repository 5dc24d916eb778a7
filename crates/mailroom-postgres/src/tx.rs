//! [`MailTx`] on a `postgres` connection inside the writer-locked transaction. Inserts that
//! may meet an existing key use `ON CONFLICT DO NOTHING` and report
//! [`StoreError::Duplicate`] from the row count, so a refusal does not abort the transaction.

use chrono::{DateTime, NaiveDate, Utc};
use lifecycle::{Customer, CustomerId, LoginId, SerialNumber, StoreError, TokenInfo, User};
use lifecycle_postgres::rows::{
    self, backend, cols, corrupt, day, get, id, opt_ts, parse_date, parse_ts, ts, TOKEN_COLS,
    USER_COLS,
};
use mailroom::rows::{campaign_at, CAMPAIGN_COLS};
use mailroom::{
    Address, Campaign, CampaignId, Envelope, EnvelopeId, Event, MailTx, NewToken, OldToken,
    Placement,
};
use postgres::types::ToSql;
use postgres::{Client, Row};
use std::collections::BTreeMap;

pub(crate) struct PgMailTx<'a> {
    pub(crate) tx: &'a mut Client,
}

fn number(n: i64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|e| corrupt("number", e))
}

/// A campaign row, by the decoder both stores share ([`mailroom::rows::campaign_at`]).
fn campaign_of(r: &Row) -> Result<Campaign, StoreError> {
    campaign_at(&rows::PgRow(r), 0)
}

impl PgMailTx<'_> {
    fn query(&mut self, q: &str, p: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        self.tx.query(q, p).map_err(backend)
    }

    fn execute(&mut self, q: &str, p: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        self.tx.execute(q, p).map_err(backend)
    }

    /// Envelopes of a campaign (optionally one), with their tokens.
    fn load_envelopes(
        &mut self,
        campaign: CampaignId,
        only: Option<EnvelopeId>,
    ) -> Result<Vec<Envelope>, StoreError> {
        let c = i64::from(campaign.number());
        let e = only.map(|e| i64::from(e.number()));
        let mut envs: BTreeMap<u32, Envelope> = BTreeMap::new();
        for r in self.query(
            "SELECT number, customer, shipping_started_at, shipped_at FROM mail_envelopes WHERE campaign = $1 AND ($2::bigint IS NULL OR number = $2) ORDER BY number",
            &[&c, &e],
        )? {
            let n = number(get(&r, 0)?)?;
            envs.insert(
                n,
                Envelope {
                    campaign,
                    id: EnvelopeId::new(n),
                    customer: id(get(&r, 1)?, CustomerId::parse)?,
                    old_tokens: Vec::new(),
                    new_tokens: Vec::new(),
                    shipping_started_at: opt_ts(get(&r, 2)?)?,
                    shipped_at: opt_ts(get(&r, 3)?)?,
                },
            );
        }
        for r in self.query(
            "SELECT envelope, serial, expiry, users FROM mail_old_tokens WHERE campaign = $1 AND ($2::bigint IS NULL OR envelope = $2) ORDER BY envelope, slot",
            &[&c, &e],
        )? {
            let users: Vec<String> = serde_json::from_str(&get::<String>(&r, 3)?)
                .map_err(|e| corrupt("envelope users", e))?;
            let users = users
                .into_iter()
                .map(|u| id(u, LoginId::parse))
                .collect::<Result<Vec<LoginId>, _>>()?;
            let env = envs
                .get_mut(&number(get(&r, 0)?)?)
                .ok_or_else(|| corrupt("old token", "envelope missing"))?;
            env.old_tokens.push(OldToken {
                serial: id(get(&r, 1)?, SerialNumber::parse)?,
                expiry: parse_date(&get::<String>(&r, 2)?)?,
                users,
            });
        }
        for r in self.query(
            "SELECT envelope, serial, expiry, batch, packed_at FROM mail_new_tokens WHERE campaign = $1 AND ($2::bigint IS NULL OR envelope = $2) ORDER BY envelope, slot",
            &[&c, &e],
        )? {
            let env = envs
                .get_mut(&number(get(&r, 0)?)?)
                .ok_or_else(|| corrupt("new token", "envelope missing"))?;
            env.new_tokens.push(NewToken {
                serial: id(get(&r, 1)?, SerialNumber::parse)?,
                expiry: parse_date(&get::<String>(&r, 2)?)?,
                batch: get(&r, 3)?,
                packed_at: opt_ts(get(&r, 4)?)?,
            });
        }
        Ok(envs.into_values().collect())
    }

    fn placement(
        &mut self,
        table: &str,
        s: &SerialNumber,
    ) -> Result<Option<Placement>, StoreError> {
        let packed = if table == "mail_new_tokens" {
            "packed_at"
        } else {
            "NULL::text"
        };
        let rows = self.query(
            &format!("SELECT campaign, envelope, {packed} FROM {table} WHERE serial = $1"),
            &[&s.as_str()],
        )?;
        rows.first()
            .map(|r| {
                Ok(Placement {
                    campaign: CampaignId::new(number(get(r, 0)?)?),
                    envelope: EnvelopeId::new(number(get(r, 1)?)?),
                    packed_at: opt_ts(get(r, 2)?)?,
                })
            })
            .transpose()
    }

    fn set_envelope_time(
        &mut self,
        column: &str,
        campaign: CampaignId,
        env: EnvelopeId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let n = self.execute(
            &format!("UPDATE mail_envelopes SET {column} = $3 WHERE campaign = $1 AND number = $2"),
            &[
                &i64::from(campaign.number()),
                &i64::from(env.number()),
                &ts(at),
            ],
        )?;
        if n == 0 {
            return Err(StoreError::Missing {
                what: "envelope",
                key: format!("{campaign}/{env}"),
            });
        }
        Ok(())
    }
}

impl MailTx for PgMailTx<'_> {
    fn customer(&mut self, cid: &CustomerId) -> Result<Option<Customer>, StoreError> {
        let rows = self.query(
            "SELECT id, name, mode, secret_hash FROM customers WHERE id = $1",
            &[&cid.as_str()],
        )?;
        rows.first().map(|r| rows::customer_at(r, 0)).transpose()
    }

    fn customer_ids(&mut self) -> Result<Vec<CustomerId>, StoreError> {
        self.query("SELECT id FROM customers ORDER BY id", &[])?
            .iter()
            .map(|r| id(get(r, 0)?, CustomerId::parse))
            .collect()
    }

    fn users_of_customer(&mut self, cid: &CustomerId) -> Result<Vec<User>, StoreError> {
        self.query(
            &format!(
                "SELECT {} FROM users u WHERE u.customer = $1 ORDER BY u.login",
                cols("u", USER_COLS)
            ),
            &[&cid.as_str()],
        )?
        .iter()
        .map(|r| rows::user_at(r, 0))
        .collect()
    }

    fn token(&mut self, s: &SerialNumber) -> Result<Option<TokenInfo>, StoreError> {
        let rows = self.query(
            &format!(
                "SELECT {} FROM tokens t WHERE t.serial = $1",
                cols("t", TOKEN_COLS)
            ),
            &[&s.as_str()],
        )?;
        rows.first().map(|r| rows::token_at(r, 0)).transpose()
    }

    fn users_with_tokens_expiring(
        &mut self,
        from: Option<NaiveDate>,
        through: NaiveDate,
    ) -> Result<Vec<(User, TokenInfo)>, StoreError> {
        // Also the tokens whose expiry is not date-shaped text, which the comparison would
        // leave out without a word: their decoding names them (as on SQLite).
        self.query(
            &format!(
                "SELECT {}, {} FROM users u JOIN tokens t ON t.serial = u.serial \
                 WHERE (t.expiry <= $2 AND ($1::text IS NULL OR t.expiry >= $1)) \
                 OR t.expiry !~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$' \
                 ORDER BY u.customer, t.serial, u.login",
                cols("u", USER_COLS),
                cols("t", TOKEN_COLS)
            ),
            &[&from.map(day), &day(through)],
        )?
        .iter()
        .map(|r| Ok((rows::user_at(r, 0)?, rows::token_at(r, USER_COLS.len())?)))
        .collect()
    }

    fn expiry_counts(&mut self) -> Result<Vec<(NaiveDate, u64)>, StoreError> {
        self.query(
            "SELECT t.expiry, COUNT(DISTINCT t.serial) FROM users u JOIN tokens t ON t.serial = u.serial GROUP BY t.expiry ORDER BY t.expiry",
            &[],
        )?
        .iter()
        .map(|r| {
            let n: i64 = get(r, 1)?;
            Ok((
                parse_date(&get::<String>(r, 0)?)?,
                u64::try_from(n).unwrap_or_default(),
            ))
        })
        .collect()
    }

    fn free_stock(&mut self, min_expiry: NaiveDate) -> Result<Vec<TokenInfo>, StoreError> {
        self.query(
            &format!(
                "SELECT {} FROM tokens t WHERE t.status = 'stock' AND t.expiry >= $1 \
                 AND NOT EXISTS (SELECT 1 FROM mail_new_tokens n WHERE n.serial = t.serial) ORDER BY t.expiry, t.batch, t.serial",
                cols("t", TOKEN_COLS)
            ),
            &[&day(min_expiry)],
        )?
        .iter()
        .map(|r| rows::token_at(r, 0))
        .collect()
    }

    fn addresses(&mut self) -> Result<Vec<Address>, StoreError> {
        self.query(
            "SELECT customer, postal_code, address, attention, phone FROM mail_addresses ORDER BY customer",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(Address {
                customer: id(get(r, 0)?, CustomerId::parse)?,
                postal_code: get(r, 1)?,
                address: get(r, 2)?,
                attention: get(r, 3)?,
                phone: get(r, 4)?,
            })
        })
        .collect()
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
        let mut slot_of = |s: &SerialNumber| -> Result<(i64, i64, String, String), StoreError> {
            let rows = self.query(
                "SELECT envelope, slot, expiry, batch FROM mail_new_tokens WHERE serial = $1 AND campaign = $2 AND packed_at IS NULL",
                &[&s.as_str(), &c],
            )?;
            let r = rows.first().ok_or_else(|| StoreError::Missing {
                what: "unpacked allocation",
                key: s.to_string(),
            })?;
            Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?, get(r, 3)?))
        };
        let (env_d, slot_d, exp_d, batch_d) = slot_of(displaced)?;
        let moved = match from {
            Some(_) => Some(slot_of(&with.serial)?),
            None => None,
        };
        if env_d != i64::from(envelope.number()) {
            return Err(StoreError::Corrupt(format!(
                "{displaced} is not reserved in envelope {envelope}"
            )));
        }
        self.execute(
            "DELETE FROM mail_new_tokens WHERE serial IN ($1, $2)",
            &[&displaced.as_str(), &with.serial.as_str()],
        )?;
        let insert = "INSERT INTO mail_new_tokens (serial, campaign, envelope, slot, expiry, batch, packed_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)";
        self.execute(
            insert,
            &[
                &with.serial.as_str(),
                &c,
                &env_d,
                &slot_d,
                &day(with.expiry),
                &with.batch,
            ],
        )?;
        if let Some((env_w, slot_w, _, _)) = moved {
            self.execute(
                insert,
                &[&displaced.as_str(), &c, &env_w, &slot_w, &exp_d, &batch_d],
            )?;
        }
        Ok(())
    }

    fn cancel_campaign(&mut self, cid: CampaignId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let c = i64::from(cid.number());
        for table in ["mail_new_tokens", "mail_old_tokens", "mail_envelopes"] {
            self.execute(&format!("DELETE FROM {table} WHERE campaign = $1"), &[&c])?;
        }
        self.execute(
            "UPDATE mail_campaigns SET cancelled_at = $2 WHERE number = $1",
            &[&c, &ts(at)],
        )
        .map(|_| ())
    }

    fn put_address(&mut self, a: &Address) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO mail_addresses (customer, postal_code, address, attention, phone) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (customer) DO UPDATE SET postal_code = excluded.postal_code, address = excluded.address, attention = excluded.attention, phone = excluded.phone",
            &[&a.customer.as_str(), &a.postal_code, &a.address, &a.attention, &a.phone],
        )
        .map(|_| ())
    }

    fn address(&mut self, customer: &CustomerId) -> Result<Option<Address>, StoreError> {
        let rows = self.query(
            "SELECT postal_code, address, attention, phone FROM mail_addresses WHERE customer = $1",
            &[&customer.as_str()],
        )?;
        rows.first()
            .map(|r| {
                Ok(Address {
                    customer: customer.clone(),
                    postal_code: get(r, 0)?,
                    address: get(r, 1)?,
                    attention: get(r, 2)?,
                    phone: get(r, 3)?,
                })
            })
            .transpose()
    }

    fn last_campaign_number(&mut self) -> Result<u32, StoreError> {
        let rows = self.query("SELECT COALESCE(MAX(number), 0) FROM mail_campaigns", &[])?;
        let r = rows.first().ok_or_else(|| corrupt("campaigns", "no row"))?;
        number(get(r, 0)?)
    }

    fn insert_campaign(&mut self, c: &Campaign) -> Result<(), StoreError> {
        let n = self.execute(
            "INSERT INTO mail_campaigns (number, name, target_expiry, include_earlier, min_new_expiry, deadline, sender, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            &[
                &i64::from(c.id.number()),
                &c.name,
                &day(c.target_expiry),
                &c.include_earlier,
                &day(c.min_new_expiry),
                &day(c.deadline),
                &c.sender,
                &ts(c.created_at),
            ],
        )?;
        if n == 0 {
            return Err(StoreError::Duplicate {
                what: "campaign",
                key: c.id.to_string(),
            });
        }
        Ok(())
    }

    fn campaign(&mut self, cid: CampaignId) -> Result<Option<Campaign>, StoreError> {
        let rows = self.query(
            &format!("SELECT {CAMPAIGN_COLS} FROM mail_campaigns WHERE number = $1"),
            &[&i64::from(cid.number())],
        )?;
        rows.first().map(campaign_of).transpose()
    }

    fn campaigns(&mut self) -> Result<Vec<Campaign>, StoreError> {
        self.query(
            &format!("SELECT {CAMPAIGN_COLS} FROM mail_campaigns ORDER BY number"),
            &[],
        )?
        .iter()
        .map(campaign_of)
        .collect()
    }

    fn insert_envelope(&mut self, e: &Envelope) -> Result<(), StoreError> {
        let (c, n) = (i64::from(e.campaign.number()), i64::from(e.id.number()));
        self.execute(
            "INSERT INTO mail_envelopes (campaign, number, customer, shipping_started_at, shipped_at) VALUES ($1, $2, $3, $4, $5)",
            &[&c, &n, &e.customer.as_str(), &e.shipping_started_at.map(ts), &e.shipped_at.map(ts)],
        )?;
        let dup = |written: u64, key: &SerialNumber| {
            if written == 0 {
                Err(StoreError::Duplicate {
                    what: "token",
                    key: key.to_string(),
                })
            } else {
                Ok(())
            }
        };
        for (i, t) in e.old_tokens.iter().enumerate() {
            let users =
                serde_json::to_string(&t.users.iter().map(LoginId::as_str).collect::<Vec<_>>())
                    .map_err(|e| StoreError::Backend(e.to_string()))?;
            let w = self.execute(
                "INSERT INTO mail_old_tokens (serial, campaign, envelope, slot, expiry, users) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[&t.serial.as_str(), &c, &n, &(i as i64), &day(t.expiry), &users],
            )?;
            dup(w, &t.serial)?;
        }
        for (i, t) in e.new_tokens.iter().enumerate() {
            let w = self.execute(
                "INSERT INTO mail_new_tokens (serial, campaign, envelope, slot, expiry, batch, packed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                &[&t.serial.as_str(), &c, &n, &(i as i64), &day(t.expiry), &t.batch, &t.packed_at.map(ts)],
            )?;
            dup(w, &t.serial)?;
        }
        Ok(())
    }

    fn envelopes(&mut self, campaign: CampaignId) -> Result<Vec<Envelope>, StoreError> {
        self.load_envelopes(campaign, None)
    }

    fn envelope(
        &mut self,
        campaign: CampaignId,
        env: EnvelopeId,
    ) -> Result<Option<Envelope>, StoreError> {
        Ok(self.load_envelopes(campaign, Some(env))?.into_iter().next())
    }

    fn replaced_in(&mut self, s: &SerialNumber) -> Result<Option<Placement>, StoreError> {
        self.placement("mail_old_tokens", s)
    }

    fn allocated_to(&mut self, s: &SerialNumber) -> Result<Option<Placement>, StoreError> {
        self.placement("mail_new_tokens", s)
    }

    fn set_packed(&mut self, s: &SerialNumber, at: DateTime<Utc>) -> Result<(), StoreError> {
        let n = self.execute(
            "UPDATE mail_new_tokens SET packed_at = $2 WHERE serial = $1 AND packed_at IS NULL",
            &[&s.as_str(), &ts(at)],
        )?;
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
        env: EnvelopeId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.set_envelope_time("shipping_started_at", campaign, env, at)
    }

    fn set_shipped(
        &mut self,
        campaign: CampaignId,
        env: EnvelopeId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.set_envelope_time("shipped_at", campaign, env, at)
    }

    fn append_event(&mut self, e: &Event) -> Result<i64, StoreError> {
        let rows = self.query(
            "INSERT INTO mail_events (at, actor, action, campaign, envelope, subject, outcome, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[
                &ts(e.at),
                &e.actor,
                &e.action,
                &e.campaign.map(|c| i64::from(c.number())),
                &e.envelope.map(|c| i64::from(c.number())),
                &e.subject,
                &e.outcome,
                &e.detail,
            ],
        )?;
        get(rows.first().ok_or_else(|| corrupt("event", "no id"))?, 0)
    }

    fn events(
        &mut self,
        campaign: Option<CampaignId>,
        limit: Option<usize>,
    ) -> Result<Vec<Event>, StoreError> {
        let lim = limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        self.query(
            "SELECT id, at, actor, action, campaign, envelope, subject, outcome, detail FROM \
             (SELECT * FROM mail_events WHERE $1::bigint IS NULL OR campaign = $1 ORDER BY id DESC LIMIT $2) e ORDER BY id",
            &[&campaign.map(|c| i64::from(c.number())), &lim],
        )?
        .iter()
        .map(|r| {
            Ok(Event {
                id: get(r, 0)?,
                at: parse_ts(&get::<String>(r, 1)?)?,
                actor: get(r, 2)?,
                action: get(r, 3)?,
                campaign: get::<Option<i64>>(r, 4)?
                    .map(number)
                    .transpose()?
                    .map(CampaignId::new),
                envelope: get::<Option<i64>>(r, 5)?
                    .map(number)
                    .transpose()?
                    .map(EnvelopeId::new),
                subject: get(r, 6)?,
                outcome: get(r, 7)?,
                detail: get(r, 8)?,
            })
        })
        .collect()
    }
}
