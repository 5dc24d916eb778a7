//! `mailroom pack C1 [--envelope E17]`: scanned serials from standard input.

use super::common::{campaign, envelope, json_line, Args};
use lifecycle::plural::count;
use mailroom::{CampaignId, EnvelopeId, Error};
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};

/// Check and record the tokens packed into envelopes. Reads standard input one line at a
/// time, as a barcode scanner types them (serial + Enter); works from a pipe, no terminal
/// needed. A line naming an envelope (`E17`, or `C1-E17` as printed on the letter) switches to
/// that envelope. Any eligible token from the box may be packed: the plan reserves a number of
/// tokens per envelope, and the scan assigns the one taken (its reserved serial goes back to
/// stock, or to the envelope the scanned one was reserved for). Each serial is checked —
/// already packed, another customer's (not in stock), revoked, expiring too soon, reserved by
/// another campaign, envelope complete — and refused loudly; every scan is saved at once, so
/// stopping and starting again loses nothing.
///
/// `--json`: one line per input line: `{"result":"packed","serial","envelope","packed","total",
/// "complete"}`, `{"result":"refused","code","message","input","envelope"}` or
/// `{"result":"envelope","envelope","customer","packed","total"}` when switching.
/// Exit 1 when an envelope scanned is still incomplete at the end of the input.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    args: Args,
    /// The campaign (C1).
    #[arg(value_parser = campaign)]
    campaign: CampaignId,
    /// The envelope being packed (else scan its label first).
    #[arg(long, value_parser = envelope)]
    envelope: Option<EnvelopeId>,
}

fn envelope_label(campaign: CampaignId, line: &str) -> Option<EnvelopeId> {
    let t = line.trim();
    let t = match t.split_once('-') {
        Some((c, e)) if CampaignId::parse(c).ok() == Some(campaign) => e,
        _ => t,
    };
    EnvelopeId::parse(t).ok()
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.args.open()?;
        let json = self.args.json;
        let loud = std::io::stderr().is_terminal();
        let c = o.mail.campaign(self.campaign)?;
        // envelope → (packed, total) for every envelope touched.
        let mut touched: BTreeMap<EnvelopeId, (usize, usize)> = BTreeMap::new();
        let mut current = None;
        let mut refused = 0usize;
        let select = |e: EnvelopeId,
                      touched: &mut BTreeMap<EnvelopeId, (usize, usize)>|
         -> anyhow::Result<Option<EnvelopeId>> {
            match o.mail.envelope(c.id, e) {
                Ok(env) => {
                    let (packed, total) = (env.packed(), env.new_tokens.len());
                    touched.insert(e, (packed, total));
                    if json {
                        json_line(
                            &serde_json::json!({"result": "envelope", "envelope": e, "customer": env.customer, "packed": packed, "total": total}),
                        )?;
                    }
                    let missing = total - packed;
                    eprintln!(
                        "envelope {e} for customer {}: {packed} of {total} packed{}",
                        env.customer,
                        if missing == 0 {
                            " — complete".to_string()
                        } else {
                            format!(
                                "; scan {} more expiring {} or later",
                                count(missing, "token"),
                                mailroom::pack::printed_expiry(c.min_new_expiry)
                            )
                        }
                    );
                    if env.shipped_at.is_some() {
                        eprintln!("  (this envelope has SHIPPED: it cannot be repacked)");
                    }
                    Ok(Some(e))
                }
                Err(err) => {
                    eprintln!("{}!!! {err} !!!", if loud { "\x07" } else { "" });
                    Ok(None)
                }
            }
        };
        if let Some(e) = self.envelope {
            current = select(e, &mut touched)?;
            if current.is_none() {
                anyhow::bail!("no envelope {e} in campaign {}", c.id);
            }
        } else {
            eprintln!(
                "campaign {}: scan an envelope label (E17), then its tokens",
                c.id
            );
        }
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let line = line?;
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            if let Some(e) = envelope_label(c.id, text) {
                if let Some(sel) = select(e, &mut touched)? {
                    current = Some(sel);
                }
                continue;
            }
            let Some(e) = current else {
                refused += 1;
                eprintln!("{}!!! REFUSED {text}: no envelope selected: scan the envelope label (E17) first !!!", if loud { "\x07" } else { "" });
                if json {
                    json_line(
                        &serde_json::json!({"result": "refused", "code": "no_envelope", "message": "scan the envelope label first", "input": text, "envelope": null}),
                    )?;
                }
                continue;
            };
            match o.mail.scan(c.id, e, text, o.now()) {
                Ok(s) => {
                    touched.insert(e, (s.packed, s.total));
                    if json {
                        json_line(
                            &serde_json::json!({"result": "packed", "serial": s.serial, "envelope": e, "packed": s.packed, "total": s.total, "complete": s.complete}),
                        )?;
                    }
                    eprintln!("  OK {} → {e} ({}/{})", s.serial, s.packed, s.total);
                    if s.complete {
                        eprintln!("  ✔ envelope {e} COMPLETE: seal it, then `tokenline mailroom ship {} --envelope {e}`", c.id);
                    }
                }
                Err(Error::Refused(r)) => {
                    refused += 1;
                    if json {
                        json_line(
                            &serde_json::json!({"result": "refused", "code": r.code(), "message": r.to_string(), "input": text, "envelope": e}),
                        )?;
                    }
                    eprintln!("{}!!! REFUSED: {r} !!!", if loud { "\x07" } else { "" });
                }
                Err(err) => return Err(err.into()),
            }
        }
        let incomplete: Vec<String> = touched
            .iter()
            .filter(|(_, (p, t))| p < t)
            .map(|(e, (p, t))| format!("{e} ({p}/{t})"))
            .collect();
        eprintln!(
            "end of input: {} scanned, {} complete, {} refused",
            count(touched.len(), "envelope"),
            touched.len() - incomplete.len(),
            count(refused, "scan")
        );
        if !incomplete.is_empty() {
            anyhow::bail!(
                "{} not complete: {} — run `mailroom pack {}` again to continue",
                count(incomplete.len(), "envelope"),
                incomplete.join(", "),
                c.id
            );
        }
        Ok(())
    }
}
