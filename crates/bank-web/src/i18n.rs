//! The message catalogue: every text of the pages, in Japanese (the default, the seeds' own
//! labels) and English, from `messages/ja.toml` and `messages/en.toml` (built into the
//! binary). Keys are `section.name`; a text may hold `{0}`, `{1}` … filled by
//! [`Catalogue::fmt`].
//!
//! The language of a request: `?lang=ja|en` (then remembered in the session), else the
//! session's, else the best of `Accept-Language`, else Japanese.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 日本語 (default).
    #[default]
    Ja,
    /// English.
    En,
}

impl Lang {
    /// `ja` or `en` (the `lang` attribute and the query parameter).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// Parses `ja` or `en`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The best language for an `Accept-Language` header (Japanese when nothing matches).
    pub fn from_accept_language(header: &str) -> Lang {
        accept_language::intersection(header, &["ja", "en"])
            .first()
            .and_then(|l| Lang::parse(l))
            .unwrap_or_default()
    }

    /// The other language (for the switch link).
    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }
}

/// One language's texts.
#[derive(Debug)]
pub struct Catalogue {
    lang: Lang,
    texts: HashMap<String, String>,
}

const JA: &str = include_str!("../messages/ja.toml");
const EN: &str = include_str!("../messages/en.toml");
// The back office's texts (section `bo`), kept in their own files.
const JA_BO: &str = include_str!("../messages/backoffice.ja.toml");
const EN_BO: &str = include_str!("../messages/backoffice.en.toml");

fn flatten(prefix: &str, v: &toml::Value, out: &mut HashMap<String, String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

fn load(lang: Lang, files: &[&str]) -> Catalogue {
    let mut texts = HashMap::new();
    for text in files {
        match text.parse::<toml::Table>() {
            Ok(t) => flatten("", &toml::Value::Table(t), &mut texts),
            // Built into the binary and checked by a unit test: cannot happen in a release.
            Err(e) => tracing::error!("bank-web: messages ({}): {e}", lang.code()),
        }
    }
    Catalogue { lang, texts }
}

/// `text` with `{0}`, `{1}` … replaced by `args`, and each `{N|ONE|OTHER}` by `ONE` when
/// argument N is `1`, else `OTHER` (issue #10 review: "1 entries"): the English texts choose
/// the noun that fits a count, `{0} {0|entry|entries}`; Japanese has no plural forms (CLDR:
/// `other` only) and never uses it. English's rule (one for 1, other for the rest) is the
/// whole of what the catalogue needs, so a selector in the text, not a message-format
/// library (Fluent would replace the TOML catalogues and their tests for this one rule).
pub fn fill(text: &str, args: &[&str]) -> String {
    let mut s = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        s.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            rest = &rest[open..];
            break;
        };
        let inner = &after[..close];
        let (index, forms) = inner.split_once('|').unwrap_or((inner, ""));
        match (index.parse::<usize>().ok().and_then(|i| args.get(i)), forms) {
            (Some(a), "") => s.push_str(a),
            (Some(a), forms) => {
                let (one, other) = forms.split_once('|').unwrap_or((forms, forms));
                s.push_str(if *a == "1" { one } else { other });
            }
            // Not a placeholder of these arguments: kept as written.
            (None, _) => s.push_str(&rest[open..open + close + 2]),
        }
        rest = &after[close + 1..];
    }
    s.push_str(rest);
    s
}

/// The catalogue of `lang` (parsed once).
pub fn catalogue(lang: Lang) -> &'static Catalogue {
    static JA_C: OnceLock<Catalogue> = OnceLock::new();
    static EN_C: OnceLock<Catalogue> = OnceLock::new();
    match lang {
        Lang::Ja => JA_C.get_or_init(|| load(Lang::Ja, &[JA, JA_BO])),
        Lang::En => EN_C.get_or_init(|| load(Lang::En, &[EN, EN_BO])),
    }
}

impl Catalogue {
    /// The language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The text of `key` (the key itself when missing: a test keeps that from shipping).
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        match self.texts.get(key) {
            Some(s) => s,
            None => {
                tracing::warn!("bank-web: no text for {key} in {}", self.lang.code());
                key
            }
        }
    }

    /// The text of `key`, `None` when the catalogue has none (for a caller with its own
    /// fallback).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.texts.get(key).map(String::as_str)
    }

    /// The text of `key` with `{0}`, `{1}` … replaced by `args`.
    pub fn fmt(&self, key: &str, args: &[&str]) -> String {
        fill(self.t(key), args)
    }

    /// Every key (for the catalogue tests).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.texts.keys().map(String::as_str)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn both_catalogues_parse_and_hold_the_same_keys() {
        for f in [JA, EN, JA_BO, EN_BO] {
            f.parse::<toml::Table>().unwrap();
        }
        let ja: BTreeSet<_> = catalogue(Lang::Ja).keys().collect();
        let en: BTreeSet<_> = catalogue(Lang::En).keys().collect();
        assert!(!ja.is_empty());
        let only_ja: Vec<_> = ja.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&ja).collect();
        assert!(
            only_ja.is_empty() && only_en.is_empty(),
            "keys only in ja: {only_ja:?}; only in en: {only_en:?}"
        );
    }

    #[test]
    fn every_key_a_template_or_view_uses_is_in_the_catalogue() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for sub in [
            "templates",
            "templates/backoffice",
            "src",
            "src/views",
            "src/backoffice",
        ] {
            if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
                for e in rd.flatten() {
                    let name = e.file_name();
                    // lib.rs's docs and this file's tests name example keys.
                    if e.path().is_file() && name != "i18n.rs" && name != "lib.rs" {
                        files.push(e.path());
                    }
                }
            }
        }
        let ja = catalogue(Lang::Ja);
        let mut missing = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for pat in ["t(\"", "fmt(\"", "fmt1(\"", "fmt3(\""] {
                for (i, _) in text.match_indices(pat) {
                    let rest = &text[i + pat.len()..];
                    let key = &rest[..rest.find('"').unwrap_or(0)];
                    if key.contains('.') && !ja.texts.contains_key(key) {
                        missing.push(format!("{}: {key}", f.display()));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys missing from the catalogue: {missing:?}"
        );
    }

    #[test]
    fn accept_language_picks_english_only_when_preferred() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language("ja,en;q=0.5"), Lang::Ja);
        assert_eq!(Lang::from_accept_language("fr"), Lang::Ja);
        assert_eq!(Lang::from_accept_language(""), Lang::Ja);
    }

    #[test]
    fn placeholders_are_filled() {
        let c = Catalogue {
            lang: Lang::En,
            texts: HashMap::from([("a.b".to_string(), "from {0} to {1}".to_string())]),
        };
        assert_eq!(c.fmt("a.b", &["x", "y"]), "from x to y");
        assert_eq!(fill("{0} and {3} and {x}", &["a"]), "a and {3} and {x}");
    }

    /// Issue #10 review ("1 entries"): `{N|ONE|OTHER}` picks the form that fits argument N,
    /// and every English text that shows a count of things uses it.
    #[test]
    fn a_count_takes_the_plural_that_fits() {
        let t = "{0} {0|entry|entries}, {1} {1|user|users}";
        assert_eq!(fill(t, &["1", "2"]), "1 entry, 2 users");
        assert_eq!(fill(t, &["0", "1"]), "0 entries, 1 user");
        let en = catalogue(Lang::En);
        for (key, args, want) in [
            ("bo.audit.chain_ok", &["1"][..], "all 1 entry checked"),
            ("bo.audit.chain_ok", &["3"][..], "all 3 entries checked"),
            ("bo.home.pending", &["1"][..], "1 request waits"),
            ("bo.home.pending", &["2"][..], "2 requests wait"),
            ("bo.imports.done", &["1", "f"][..], "1 token from f was put"),
            (
                "bo.campaigns.targets_value",
                &["1", "2", "1"][..],
                "1 customer, 2 tokens, 1 user",
            ),
        ] {
            let text = en.fmt(key, args);
            assert!(text.contains(want), "{key}: {text}");
        }
        for key in en.keys() {
            let text = en.t(key);
            assert!(!text.contains("(s)"), "{key}: a count with (s): {text}");
        }
    }
}
