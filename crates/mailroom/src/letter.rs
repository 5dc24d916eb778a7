//! The replacement letter (issue #6, "letters"; the model is seed `004`): one per customer,
//! naming the tokens to replace, the new tokens enclosed, the deadline and the steps.
//!
//! The wording lives in `templates/letter_ja.txt` (a line-based template); it is parsed into
//! [`Block`]s that both renderers use: [`html`] here and [`crate::pdf`].

use crate::model::{Address, Campaign, Envelope};
use crate::pack::printed_expiry;
use chrono::{Datelike, NaiveDate, Weekday};
use lifecycle::{LoginId, Policy};
use std::collections::BTreeMap;

/// The default template (Japanese, after seed `004`).
pub const TEMPLATE_JA: &str = include_str!("../templates/letter_ja.txt");

/// One block of a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// The letter's title.
    Title(String),
    /// A section heading.
    Heading(String),
    /// A paragraph.
    Para(String),
    /// A bullet item.
    Bullet(String),
    /// A right-aligned line (date, sender, 以上).
    Right(String),
    /// The recipient: lines of the address block.
    Address(Vec<String>),
    /// A table: header and rows.
    Table {
        /// Column titles.
        head: Vec<String>,
        /// Rows of cells.
        rows: Vec<Vec<String>>,
    },
    /// A small vertical space.
    Space,
    /// Start a new page.
    PageBreak,
}

/// A letter ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    /// File stem, e.g. `C1-E17-C0017`.
    pub stem: String,
    /// Title (for the HTML `<title>` and PDF metadata).
    pub title: String,
    /// The content.
    pub blocks: Vec<Block>,
}

/// `2023年4月14日（金）`.
pub fn date_ja(d: NaiveDate) -> String {
    let wd = match d.weekday() {
        Weekday::Mon => "月",
        Weekday::Tue => "火",
        Weekday::Wed => "水",
        Weekday::Thu => "木",
        Weekday::Fri => "金",
        Weekday::Sat => "土",
        Weekday::Sun => "日",
    };
    format!("{}年{}月{}日（{wd}）", d.year(), d.month(), d.day())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The sender named in letters: the bank's display name from its policy (`[bank]
/// display_name`), else the policy's name, else 当行.
pub fn sender_of(policy: &Policy) -> String {
    let name = if policy.bank.display_name.trim().is_empty() {
        policy.name.trim()
    } else {
        policy.bank.display_name.trim()
    };
    if name.is_empty() {
        "当行".into()
    } else {
        one_line(name)
    }
}

/// Builds the letter for one envelope from `template`. `address` `None` prints a loud
/// placeholder (such envelopes cannot ship until an address is imported). The bank's
/// address, contact desk and cool-down rule come from `policy` (the rule text from
/// [`lifecycle::rules_ja`], computed by the bank's own rule); users are shown by name
/// (`user_names`, login ID when unknown) with their login ID.
pub fn build(
    template: &str,
    campaign: &Campaign,
    envelope: &Envelope,
    customer_name: &str,
    address: Option<&Address>,
    policy: &Policy,
    user_names: &BTreeMap<LoginId, String>,
) -> Letter {
    let tz = policy.time_zone;
    let letter_date = campaign.created_at.with_timezone(&tz);
    let bank = &policy.bank;
    let sender = if campaign.sender.trim().is_empty() {
        sender_of(policy)
    } else {
        one_line(&campaign.sender)
    };
    let bank_address = match (bank.postal_code.trim(), bank.address.trim()) {
        ("", "") => String::new(),
        ("", a) => one_line(a),
        (p, a) => format!("〒{p} {}", one_line(a)),
    };
    let phone = match (bank.phone.trim(), bank.hours.trim()) {
        ("", _) => String::new(),
        (p, "") => format!("電話 {p}"),
        (p, h) => format!("電話 {p}（{h}）"),
    };
    let bank_contact = [one_line(&bank.contact), phone]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let inquiry = if bank_contact.is_empty() {
        format!("{sender}の窓口")
    } else {
        format!("{sender} {bank_contact}")
    };
    let vars: Vec<(&str, String)> = vec![
        (
            "letter_date",
            format!("{}年{}月", letter_date.year(), letter_date.month()),
        ),
        ("sender", sender),
        ("bank_address", bank_address),
        ("bank_contact", bank_contact),
        ("inquiry", inquiry),
        ("customer_id", envelope.customer.to_string()),
        (
            "revokers",
            match policy.roles.revoke {
                lifecycle::policy::AdminRoles::MasterOnly => "マスターユーザ".into(),
                lifecycle::policy::AdminRoles::MasterAndAdmin => {
                    "マスターユーザまたは管理者ユーザ".into()
                }
            },
        ),
        ("customer_name", one_line(customer_name)),
        ("target_printed", printed_expiry(campaign.target_expiry)),
        ("min_printed", printed_expiry(campaign.min_new_expiry)),
        ("deadline_ja", date_ja(campaign.deadline)),
        ("count", envelope.new_tokens.len().to_string()),
        ("campaign", campaign.id.to_string()),
        ("envelope", envelope.id.to_string()),
    ];
    let fill = |line: &str| -> String {
        let mut out = line.to_owned();
        for (k, v) in &vars {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        out
    };
    let mut blocks = Vec::new();
    for raw in template.lines() {
        let line = raw.trim_end();
        if line.starts_with("#!") {
            continue;
        }
        // A line that is only placeholders, all empty (no bank address in the policy): none.
        if line.contains('{') && fill(line).trim_start_matches(['>', ' ']).trim().is_empty() {
            continue;
        }
        if let Some(prefix) = line.strip_prefix("@cooldown") {
            let prefix = prefix.trim();
            for (i, rule) in lifecycle::rules_ja::cooldown_rules_ja(policy)
                .into_iter()
                .enumerate()
            {
                blocks.push(Block::Bullet(if i == 0 && !prefix.is_empty() {
                    format!("{prefix} {rule}")
                } else {
                    rule
                }));
            }
            continue;
        }
        let b = if let Some(t) = line.strip_prefix("## ") {
            Block::Heading(fill(t))
        } else if let Some(t) = line.strip_prefix("# ") {
            Block::Title(fill(t))
        } else if let Some(t) = line.strip_prefix("- ") {
            Block::Bullet(fill(t))
        } else if let Some(t) = line.strip_prefix("> ") {
            Block::Right(fill(t))
        } else if line == "@address" {
            Block::Address(match address {
                Some(a) => {
                    let mut v = vec![
                        format!("〒{}", one_line(&a.postal_code)),
                        one_line(&a.address),
                        format!("{} 御中", one_line(customer_name)),
                    ];
                    if !a.attention.trim().is_empty() {
                        v.push(one_line(&a.attention));
                    }
                    v
                }
                None => vec![
                    "【住所未登録 — NO POSTAL ADDRESS: do not mail】".into(),
                    format!("{} 御中", one_line(customer_name)),
                ],
            })
        } else if line == "@tokens" {
            Block::Table {
                head: vec![
                    "切替対象のトークン（シリアル番号／有効期限）".into(),
                    "ご利用中のユーザ".into(),
                    "新しいトークン（シリアル番号／有効期限）".into(),
                ],
                rows: envelope
                    .old_tokens
                    .iter()
                    .zip(&envelope.new_tokens)
                    .map(|(o, n)| {
                        vec![
                            format!("{}／{}", o.serial, printed_expiry(o.expiry)),
                            o.users
                                .iter()
                                .map(|u| match user_names.get(u) {
                                    Some(n) if !n.trim().is_empty() => {
                                        format!("{}（{u}）", one_line(n))
                                    }
                                    _ => u.to_string(),
                                })
                                .collect::<Vec<_>>()
                                .join("、"),
                            // The plan reserves a number of tokens, not serials: the serial is
                            // known once the token is packed (letters printed after packing).
                            if n.packed_at.is_some() {
                                format!("{}／{}", n.serial, printed_expiry(n.expiry))
                            } else {
                                format!(
                                    "同封のトークン（有効期限 {} 以降）",
                                    printed_expiry(campaign.min_new_expiry)
                                )
                            },
                        ]
                    })
                    .collect(),
            }
        } else if line == "@pagebreak" {
            Block::PageBreak
        } else if line.is_empty() {
            Block::Space
        } else {
            Block::Para(fill(line))
        };
        blocks.push(b);
    }
    Letter {
        stem: format!("{}-{}-{}", campaign.id, envelope.id, envelope.customer),
        title: format!(
            "ハードウェアトークン切替のお願い {} {}",
            one_line(customer_name),
            envelope.id
        ),
        blocks,
    }
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The letter as a standalone printable HTML page (A4, print CSS, no external resources).
pub fn html(l: &Letter) -> String {
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str(&format!("<title>{}</title>\n", esc(&l.title)));
    o.push_str(
        "<style>\n@page { size: A4; margin: 20mm; }\nbody { font-family: \"IPAGothic\", \"Noto Sans CJK JP\", sans-serif; font-size: 10.5pt; line-height: 1.6; max-width: 170mm; margin: auto; }\n\
         h1 { font-size: 15pt; text-align: center; margin: 1.2em 0; }\nh2 { font-size: 12pt; margin: 1em 0 0.3em; border-bottom: 1px solid #000; }\n\
         .right { text-align: right; margin: 0; }\n.address { margin: 1em 0; }\n.address p { margin: 0; }\n\
         table { border-collapse: collapse; width: 100%; margin: 0.5em 0; }\nth, td { border: 1px solid #000; padding: 3px 6px; font-size: 9.5pt; }\nth { background: #eee; }\n\
         .space { height: 0.6em; }\n.pagebreak { page-break-after: always; }\n</style>\n</head>\n<body>\n",
    );
    let mut in_list = false;
    for b in &l.blocks {
        let is_bullet = matches!(b, Block::Bullet(_));
        if in_list && !is_bullet {
            o.push_str("</ul>\n");
            in_list = false;
        }
        match b {
            Block::Title(t) => o.push_str(&format!("<h1>{}</h1>\n", esc(t))),
            Block::Heading(t) => o.push_str(&format!("<h2>{}</h2>\n", esc(t))),
            Block::Para(t) => o.push_str(&format!("<p>{}</p>\n", esc(t))),
            Block::Bullet(t) => {
                if !in_list {
                    o.push_str("<ul>\n");
                    in_list = true;
                }
                o.push_str(&format!("<li>{}</li>\n", esc(t)));
            }
            Block::Right(t) => o.push_str(&format!("<p class=\"right\">{}</p>\n", esc(t))),
            Block::Address(lines) => {
                o.push_str("<div class=\"address\">\n");
                for line in lines {
                    o.push_str(&format!("<p>{}</p>\n", esc(line)));
                }
                o.push_str("</div>\n");
            }
            Block::Table { head, rows } => {
                o.push_str("<table>\n<tr>");
                for h in head {
                    o.push_str(&format!("<th>{}</th>", esc(h)));
                }
                o.push_str("</tr>\n");
                for r in rows {
                    o.push_str("<tr>");
                    for c in r {
                        o.push_str(&format!("<td>{}</td>", esc(c)));
                    }
                    o.push_str("</tr>\n");
                }
                o.push_str("</table>\n");
            }
            Block::Space => o.push_str("<div class=\"space\"></div>\n"),
            Block::PageBreak => o.push_str("<div class=\"pagebreak\"></div>\n"),
        }
    }
    if in_list {
        o.push_str("</ul>\n");
    }
    o.push_str("</body>\n</html>\n");
    o
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_deadline_of_seed_004_is_a_friday() {
        assert_eq!(
            date_ja(NaiveDate::from_ymd_opt(2023, 4, 14).unwrap()),
            "2023年4月14日（金）"
        );
    }

    #[test]
    fn html_escapes_customer_text() {
        let l = Letter {
            stem: "x".into(),
            title: "t".into(),
            blocks: vec![Block::Para("<script>&".into())],
        };
        let h = html(&l);
        assert!(h.contains("&lt;script&gt;&amp;"), "{h}");
        assert!(!h.contains("<script>"));
    }
}
