//! `tokenline line labels`: what is printed on the back of each locked token (DOMAIN.md §2,
//! seeds `000`, `004`): the serial — as text and as a Code 128 barcode the mailing room's
//! scanner reads — and the expiry as `MM/DD/YY`.
//!
//! Formats (`--format`):
//! - `csv` (default): RFC 4180, header `serial,expiry`, one row per locked token in serial
//!   order:
//!   ```text
//!   serial,expiry
//!   10000001,01/31/31
//!   ```
//! - `pdf`: A4 sheets of labels for an office printer, `--label-size` each (see `pdf`).
//! - `zpl`: one ZPL II label per token for thermal label printers at 203 dpi (see `zpl`).
//!
//! Scrapped, failed, void and in-flight serials get no label; the count of scrapped ones is
//! reported on stderr.

mod pdf;
mod zpl;

use lifecycle::plural::count;
use std::path::PathBuf;

use anyhow::Context;
use provision::journal::TokenStatus;
use provision::Journal;

/// Label output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// serial,expiry rows.
    Csv,
    /// A4 sheets with a Code 128 barcode per label, for an office printer.
    Pdf,
    /// ZPL II for thermal label printers (203 dpi).
    Zpl,
}

/// Write the labels (serial as text and Code 128 barcode, expiry MM/DD/YY) of the locked tokens.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The batch journal directory.
    #[arg(long)]
    journal: PathBuf,
    /// Write to this file (atomically) instead of stdout (required for pdf).
    #[arg(long)]
    out: Option<PathBuf>,
    /// csv, pdf (A4 sheets of labels) or zpl (thermal printers).
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// One label's size in millimetres, WIDTHxHEIGHT (pdf and zpl), e.g. 50x25.
    #[arg(long, default_value = "50x25", value_name = "WxH")]
    label_size: String,
}

/// A label's size in millimetres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LabelSize {
    pub w_mm: f32,
    pub h_mm: f32,
}

impl LabelSize {
    /// Parses `WIDTHxHEIGHT` in millimetres, 20–200 × 10–200.
    fn parse(s: &str) -> anyhow::Result<LabelSize> {
        let bad = || {
            anyhow::anyhow!(
                "--label-size {s:?} is not WIDTHxHEIGHT in millimetres (e.g. 50x25, 20 to 200 wide, 10 to 200 high)"
            )
        };
        let (w, h) = s.trim().split_once(['x', 'X']).ok_or_else(bad)?;
        let w: f32 = w.trim().parse().map_err(|_| bad())?;
        let h: f32 = h.trim().parse().map_err(|_| bad())?;
        if !(20.0..=200.0).contains(&w) || !(10.0..=200.0).contains(&h) {
            return Err(bad());
        }
        Ok(LabelSize { w_mm: w, h_mm: h })
    }
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let size = LabelSize::parse(&self.label_size)
            .map_err(|e| crate::cmd::common::Usage(e.to_string()))?;
        let journal = Journal::open(&self.journal)?;
        let labels = journal.labels();
        let bytes = match self.format {
            Format::Csv => {
                let mut csv = String::from("serial,expiry\n");
                for l in &labels {
                    csv.push_str(&format!("{},{}\n", l.serial, l.expiry));
                }
                csv.into_bytes()
            }
            Format::Pdf => {
                if self.out.is_none() {
                    crate::usage!(
                        "--format pdf needs --out FILE.pdf (a PDF is not written to a terminal)"
                    );
                }
                pdf::sheet(&labels, size)?
            }
            Format::Zpl => zpl::labels(&labels, size)?.into_bytes(),
        };
        let scrapped: Vec<String> = journal
            .records()
            .filter(|r| matches!(r.status, TokenStatus::Scrapped(_)))
            .map(|r| r.serial.to_string())
            .collect();
        match &self.out {
            None => {
                use std::io::Write;
                std::io::stdout().write_all(&bytes)?;
            }
            Some(path) => {
                provision::fsutil::write_atomic(path, &bytes, 0o644)
                    .with_context(|| format!("cannot write labels to {}", path.display()))?;
                eprintln!("{} labels written to {}", labels.len(), path.display());
            }
        }
        if !scrapped.is_empty() {
            eprintln!(
                "no label for {}: {}",
                count(scrapped.len(), "scrapped serial"),
                scrapped.join(" ")
            );
        }
        Ok(())
    }
}

/// The Code 128 modules (1 = bar) of `serial`, in character set B (barcoders).
pub(crate) fn code128_modules(serial: &str) -> anyhow::Result<Vec<u8>> {
    let code = barcoders::sym::code128::Code128::new(format!("\u{0181}{serial}"))
        .map_err(|e| anyhow::anyhow!("serial {serial} cannot be a Code 128 barcode: {e}"))?;
    Ok(code.encode())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn label_size_is_width_x_height_in_mm() {
        assert_eq!(
            LabelSize::parse("50x25").unwrap(),
            LabelSize {
                w_mm: 50.0,
                h_mm: 25.0
            }
        );
        for bad in ["50", "x25", "5x25", "50x2", "fiftyx25", ""] {
            assert!(LabelSize::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn code128_of_a_serial_has_start_b_and_stop_patterns() {
        let m = code128_modules("10000001").unwrap();
        // start B (11) + 8 data (88) + check (11) + stop (13) modules.
        assert_eq!(m.len(), 11 + 88 + 11 + 13);
        // ISO/IEC 15417: Start B is 11010010000, Stop is 1100011101011.
        assert_eq!(&m[..11], &[1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(&m[m.len() - 13..], &[1, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1]);
    }
}
