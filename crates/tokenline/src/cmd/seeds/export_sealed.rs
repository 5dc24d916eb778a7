//! `seeds export` of a sealed batch (`line run --sealed-to`): the `.tlseed` whose records are
//! the tokens' own sealed records (spec/seedfile.md §9). No key is needed or used: the factory
//! cannot open them, only the bank can (`bank import --key … --devices … --enroller …`).

use std::io::Write;

use anyhow::{bail, Context};
use provision::journal::SealedToken;
use provision::Journal;
use seedfile::sealed::{Reading, SealedSeedRecord, Writer};

use super::common::unix_now;

/// Why a sealed batch has no PSKC export (the message `seeds export --format pskc` gives).
pub const NO_PSKC: &str = "its seeds were born on the tokens and exist only sealed to the bank's X25519 key, \
with each token's signature: the factory cannot decrypt them to re-encrypt them as PSKC (RFC 6030 has no \
place for a record sealed to the bank's key and signed by the token). Export the default .tlseed; the bank \
opens it with `bank import --key bank.key --devices … --enroller …` (or `seeds decrypt` to CSV) and can \
produce PSKC from there if it needs to";

/// Writes `tokens` (locked tokens of sealed batch `journal`) to `out` as a whole sealed
/// `.tlseed`; returns the record count.
pub fn write(journal: &Journal, tokens: &[SealedToken], out: impl Write) -> anyhow::Result<u64> {
    let m = journal.manifest();
    let Some(to) = m.sealed_to else {
        bail!("batch {} is not sealed", m.batch);
    };
    let month = time::Month::try_from(m.expiry.month).context("expiry month")?;
    let expiry = time::Date::from_calendar_date(i32::from(m.expiry.year), month, m.expiry.day)
        .context("expiry date")?;
    let bank = seedfile::PublicKey(to.bank_public);
    let mut w = Writer::new(out, &bank, &m.batch, tokens.len() as u64, unix_now())?;
    for t in tokens {
        w.write(&record(t, expiry, m)?)?;
    }
    w.finish()?;
    Ok(tokens.len() as u64)
}

fn record(
    t: &SealedToken,
    expiry: time::Date,
    m: &provision::journal::Manifest,
) -> anyhow::Result<SealedSeedRecord> {
    let hardware_id: [u8; 8] = hex::decode(&t.hardware_id)
        .ok()
        .and_then(|v| v.try_into().ok())
        .with_context(|| format!("serial {}: hardware id {:?}", t.serial, t.hardware_id))?;
    Ok(SealedSeedRecord {
        serial: t.serial.clone(),
        hardware_id,
        expiry,
        params: m.params,
        device_key: t.generated.device_key,
        sealed: t.generated.sealed,
        readings: t
            .readings
            .iter()
            .map(|r| Reading {
                token_time: r.token_time,
                moving_factor: r.moving_factor,
                code: r.code.clone(),
            })
            .collect(),
        manufacturer: m.manufacturer.clone(),
        model: m.model.clone(),
        provisioned_at_unix: i64::try_from(t.provisioned_at_unix).unwrap_or(i64::MAX),
    })
}
