//! `mailroom letters C1 --out DIR`.

use super::common::{campaign, envelope, json_line, say, Args};
use anyhow::{bail, Context};
use lifecycle::plural::count;
use lifecycle::LoginId;
use mailroom::letter::{build, html, TEMPLATE_JA};
use mailroom::{CampaignId, EnvelopeId, MailStore};
use provision::fsutil::write_atomic;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Japanese fonts looked for when --font is not given (Debian packages fonts-ipafont-gothic,
/// fonts-noto-cjk); `scripts/setup` installs the first.
const FONTS: &[&str] = &[
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
];

/// Write one printable letter per customer, as HTML and PDF (A4, Japanese, after seed 004):
/// the tokens to replace and the new ones enclosed, the deadline, the steps. Files are named
/// `C1-E17-CUSTOMER.html` / `.pdf`. All or nothing: every letter is rendered before the first
/// file is written, and a failure removes what this run wrote. A customer without a postal
/// address refuses the run (listed, nothing written) unless --skip-missing-addresses, which
/// writes the others and lists the skipped ones.
///
/// `--json`: one line per letter `{"envelope","customer","html","pdf"}`, and per missing
/// address `{"envelope","customer","error":"no postal address"}`.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    args: Args,
    /// The campaign (C1).
    #[arg(value_parser = campaign)]
    campaign: CampaignId,
    /// Directory to write into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Only this envelope.
    #[arg(long, value_parser = envelope)]
    envelope: Option<EnvelopeId>,
    /// A TrueType font with Japanese glyphs [default: IPAGothic from fonts-ipafont-gothic].
    #[arg(long, env = "TOKENLINE_LETTER_FONT")]
    font: Option<PathBuf>,
    /// A letter template instead of the built-in one (see crates/mailroom/templates/letter_ja.txt).
    #[arg(long)]
    template: Option<PathBuf>,
    /// Also write every letter into one PDF for the print shop (C1-all.pdf).
    #[arg(long)]
    combined: bool,
    /// HTML only (no font needed).
    #[arg(long)]
    html_only: bool,
    /// Write the letters of the customers that have a postal address and list the others,
    /// instead of refusing the run.
    #[arg(long)]
    skip_missing_addresses: bool,
}

fn font_path(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_owned());
    }
    FONTS.iter().map(PathBuf::from).find(|p| p.exists()).with_context(|| {
        format!("no Japanese font found ({}): install fonts-ipafont-gothic (scripts/setup does) or pass --font FILE.ttf, or use --html-only", FONTS.join(", "))
    })
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.args.open()?;
        let template = match &self.template {
            Some(p) => std::fs::read_to_string(p)
                .with_context(|| format!("reading the template {}", p.display()))?,
            None => TEMPLATE_JA.to_owned(),
        };
        let font = if self.html_only {
            None
        } else {
            let p = font_path(self.font.as_deref())?;
            Some(std::fs::read(&p).with_context(|| format!("reading the font {}", p.display()))?)
        };
        let (c, envelopes) = o.mail.show(self.campaign)?;
        let json = self.args.json;
        let mut letters = Vec::new();
        let mut missing = Vec::new();
        // (path, bytes) of every file, rendered before anything is written.
        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let mut lines = Vec::new();
        for e in envelopes
            .iter()
            .filter(|e| self.envelope.is_none_or(|x| x == e.envelope))
        {
            let Some(addr) = &e.address else {
                missing.push(format!("{} {} {}", e.envelope, e.customer, e.customer_name));
                lines.push(serde_json::json!({"envelope": e.envelope, "customer": e.customer, "error": "no postal address"}));
                continue;
            };
            let env = o.mail.envelope(c.id, e.envelope)?;
            let names: BTreeMap<LoginId, String> = o
                .mail
                .store()
                .transaction(|tx| tx.users_of_customer(&e.customer))?
                .into_iter()
                .map(|u| (u.login, u.name))
                .collect();
            let letter = build(
                &template,
                &c,
                &env,
                &e.customer_name,
                Some(addr),
                &o.policy,
                &names,
            );
            let html_path = self.out.join(format!("{}.html", letter.stem));
            files.push((html_path.clone(), html(&letter).into_bytes()));
            let pdf_path = match &font {
                Some(f) => {
                    let p = self.out.join(format!("{}.pdf", letter.stem));
                    let bytes = mailroom::pdf::render(&[&letter], f)
                        .with_context(|| format!("letter {}: nothing was written", letter.stem))?;
                    files.push((p.clone(), bytes));
                    Some(p)
                }
                None => None,
            };
            lines.push(serde_json::json!({"envelope": e.envelope, "customer": e.customer, "html": html_path, "pdf": pdf_path}));
            letters.push(letter);
        }
        if !missing.is_empty() && !self.skip_missing_addresses {
            for m in &missing {
                eprintln!(
                    "  NO LETTER (no postal address): {}",
                    lifecycle::audit::escape(&m.to_string())
                );
            }
            bail!("no postal address for {}: nothing was written; import their addresses with `mailroom addresses import FILE.csv`, or pass --skip-missing-addresses to write the others now", count(missing.len(), "customer"));
        }
        let mut combined = None;
        if self.combined {
            if let Some(f) = &font {
                let refs: Vec<_> = letters.iter().collect();
                if !refs.is_empty() {
                    let p = self.out.join(format!("{}-all.pdf", c.id));
                    files.push((p.clone(), mailroom::pdf::render(&refs, f)?));
                    combined = Some(p);
                }
            }
        }
        write_all(&self.out, &files)?;
        if json {
            for l in &lines {
                json_line(l)?;
            }
        }
        if let Some(p) = combined {
            say(json, &format!("all letters in one file: {}", p.display()));
        }
        say(
            json,
            &format!(
                "{} written to {}",
                count(letters.len(), "letter"),
                self.out.display()
            ),
        );
        for m in &missing {
            eprintln!(
                "  NO LETTER (no postal address, skipped): {}",
                lifecycle::audit::escape(&m.to_string())
            );
        }
        Ok(())
    }
}

/// Writes every file (each atomically); if one fails, removes the ones this call wrote, so a
/// failed run leaves no partial set of letters.
fn write_all(dir: &Path, files: &[(PathBuf, Vec<u8>)]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (i, (path, bytes)) in files.iter().enumerate() {
        if let Err(e) = write_atomic(path, bytes, 0o644) {
            for (done, _) in &files[..i] {
                let _ = std::fs::remove_file(done);
            }
            return Err(e)
                .with_context(|| format!("writing {}: no letter was left behind", path.display()));
        }
    }
    Ok(())
}
