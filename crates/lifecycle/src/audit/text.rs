//! Free text in the audit log: refused when it holds what could forge a line or hide text,
//! escaped on output.

use crate::error::Error;

/// Whether `c` must never reach a log line, a terminal or a page as is: control characters
/// (Unicode category Cc: newline, escape, DEL, C1…), every format character (Cf: the bidi
/// marks, embeddings, overrides and isolates U+200E–U+200F, U+202A–U+202E, U+2066–U+2069 that
/// reorder the text around them, zero-width characters U+200B–U+200D, U+FEFF, and beyond the
/// BMP the invisible tag characters U+E0001, U+E0020–U+E007F that can smuggle a hidden text
/// into a name or a reason) and the line and paragraph separators (Zl U+2028, Zp U+2029),
/// which some viewers break lines at.
///
/// Also every character that shows nothing although it is not Cf (issue #10): Unicode's
/// `Default_Ignorable_Code_Point` (UAX #44: the Hangul fillers U+115F, U+1160, U+3164, U+FFA0,
/// the combining grapheme joiner U+034F, the variation selectors U+180B–U+180F and
/// U+FE00–U+FE0F, the reserved U+2065, U+FFF0–U+FFF8, U+E0000–U+E0FFF…), the braille
/// blank U+2800 (a visible-width blank that is a symbol, not a space), the noncharacters
/// (`Noncharacter_Code_Point`: U+FDD0–U+FDEF and the last two of every plane, U+FFFE…) and
/// private use (Co: U+E000–U+F8FF and planes 15–16), whose glyph is whatever a font says.
///
/// Japanese text stays: the full-width space U+3000 is Zs, kana, kanji, full-width and
/// half-width forms are letters and symbols, and the ideographic variation selectors
/// U+E0100–U+E01EF of names' 異体字 (IVS, registered in the Ideographic Variation Database)
/// are kept although default-ignorable: they select a glyph of the kanji before them.
/// Categories from `unicode-properties`, the binary properties from ICU4X's
/// `icu_properties` (Unicode's tables, compiled in). The OpenAPI schema `Name` lists the same
/// characters of the BMP (test `the_spec_name_pattern_refuses_what_the_bank_refuses`).
pub fn is_unsafe_char(c: char) -> bool {
    use icu_properties::props::{BinaryProperty, DefaultIgnorableCodePoint, NoncharacterCodePoint};
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    const BRAILLE_BLANK: char = '\u{2800}';
    let ivs = ('\u{E0100}'..='\u{E01EF}').contains(&c);
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::PrivateUse
    ) || (DefaultIgnorableCodePoint::for_char(c) && !ivs)
        || NoncharacterCodePoint::for_char(c)
        || c == BRAILLE_BLANK
}

/// Refuses free text holding a character of [`is_unsafe_char`] (newline, escape, a bidi
/// override, U+2028…): names, reasons and other text that ends up in the audit log.
///
/// Errors: [`Error::InvalidInput`] naming the field and the character's code point.
pub fn refuse_control(field: &'static str, text: &str) -> Result<(), Error> {
    if let Some(c) = text.chars().find(|&c| is_unsafe_char(c)) {
        return Err(Error::InvalidInput(format!(
            "{field} holds the invisible or control character U+{:04X}: use printable text on one line (no control, bidi, line separator or invisible characters)",
            u32::from(c)
        )));
    }
    Ok(())
}

/// The longest reason (characters) a back-office revocation or a rejection takes: what the
/// back-office pages' fields allow (`maxlength="200"`).
pub const MAX_REASON_CHARS: usize = 200;

/// Checks a reason an operator gives (a back-office revocation, a rejected request): printable
/// text on one line ([`refuse_control`]), not blank, at most [`MAX_REASON_CHARS`] characters
/// (issue #10 review: the API took a 60,000-character reason, repeated in every later answer
/// and audit entry about the request). `example` shows what a reason says.
///
/// Errors: [`Error::InvalidInput`] naming what is wrong and what to give.
pub fn check_reason(reason: &str, example: &str) -> Result<(), Error> {
    refuse_control("reason", reason)?;
    if reason.trim().is_empty() {
        return Err(Error::InvalidInput(format!("give the reason ({example})")));
    }
    let n = reason.chars().count();
    if n > MAX_REASON_CHARS {
        return Err(Error::InvalidInput(format!(
            "the reason is {n} characters long: give at most {MAX_REASON_CHARS} ({example})"
        )));
    }
    Ok(())
}

/// Whether `c` is a combining mark: Unicode General_Category M (Mn nonspacing, Mc spacing,
/// Me enclosing: U+0301 the acute accent, U+0E31, U+3099 the kana voicing mark, U+20DD…),
/// which is drawn on the character before it.
pub fn is_combining_mark(c: char) -> bool {
    use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};
    c.general_category_group() == GeneralCategoryGroup::Mark
}

/// Refuses a name (a customer's, a user's) that does not begin with a base character: its
/// first character after leading blanks is a combining mark ([`is_combining_mark`]), so the
/// name is made of marks only or its marks sit on nothing (issue #10 review: such a name
/// shows as stray accents, or on the blank or the text before it on a screen or a letter).
/// Marks after a base character (`é` as `e` + U+0301, `が` as `か` + U+3099) are kept.
///
/// Errors: [`Error::InvalidInput`] naming the field, the rule and the mark's code point.
pub fn refuse_unbased_name(field: &'static str, text: &str) -> Result<(), Error> {
    match text.trim_start().chars().next() {
        Some(c) if is_combining_mark(c) => Err(Error::InvalidInput(format!(
            "{field} begins with the combining mark U+{:04X}: a name must begin with a base character (a letter, digit or symbol) for its marks to sit on, and cannot be made of combining marks only",
            u32::from(c)
        ))),
        _ => Ok(()),
    }
}

/// Escapes the characters of [`is_unsafe_char`] and the backslash for display (`\n`,
/// `\u{1b}`, `\u{202e}`…): what the audit log shows can never start a new line, drive a
/// terminal or reverse the text after it.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unsafe_char(c) || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_and_escaped() {
        let forged = "lost\n     7 2025-01-01 operator:boss unlock \u{1b}[2K";
        assert!(refuse_control("reason", forged).is_err());
        assert!(refuse_control("reason", "紛失 (lost on the train)").is_ok());
        let shown = escape(forged);
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert!(shown.contains("\\n"), "{shown}");
    }

    #[test]
    fn the_spec_name_pattern_refuses_what_the_bank_refuses() {
        // The character classes of spec/bank-api.openapi.yaml's `Text` (a reason) and `Name`
        // (a customer's or user's name), built from the same tables: a client validating
        // against the spec sends nothing the bank refuses.
        let one = |cp: u32| {
            if cp < 0x100 {
                format!("\\x{cp:02x}")
            } else {
                format!("\\u{cp:04x}")
            }
        };
        let class_of = |pred: fn(char) -> bool| -> String {
            let mut ranges: Vec<(u32, u32)> = Vec::new();
            for c in (0..=0xFFFFu32)
                .filter_map(char::from_u32)
                .filter(|&c| pred(c))
            {
                let cp = u32::from(c);
                match ranges.last_mut() {
                    Some(r) if r.1 + 1 == cp => r.1 = cp,
                    _ => ranges.push((cp, cp)),
                }
            }
            ranges
                .iter()
                .map(|&(a, b)| {
                    if a == b {
                        one(a)
                    } else {
                        format!("{}-{}", one(a), one(b))
                    }
                })
                .collect()
        };
        let class = class_of(is_unsafe_char);
        let marks = class_of(|c| is_combining_mark(c) && !is_unsafe_char(c));
        let spec = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../spec/bank-api.openapi.yaml"
        ))
        .unwrap();
        let text = format!("pattern: '^[^{class}]*[^\\s{class}][^{class}]*$'");
        assert!(
            spec.contains(&text),
            "the spec's Text pattern should be:\n      {text}"
        );
        // A name: blanks, then a base character (no combining mark: `refuse_unbased_name`).
        let name = format!("pattern: '^[^\\S{class}]*[^\\s{class}{marks}][^{class}]*$'");
        assert!(
            spec.contains(&name),
            "the spec's Name pattern should be:\n      {name}"
        );
    }

    /// Issue #10: a reviewer put the tag character U+E0041 (invisible) in a back-office
    /// reason and a name; every format character (Cf), beyond the BMP too, is refused now,
    /// and escaped on output; Japanese text is kept.
    #[test]
    fn format_characters_beyond_the_bmp_and_bidi_controls_are_refused_and_japanese_kept() {
        use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
        let every_cf = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| c.general_category() == GeneralCategory::Format);
        let mut n = 0;
        for c in every_cf {
            n += 1;
            let text = format!("紛失{c}reason");
            let err = refuse_control("reason", &text).unwrap_err();
            assert!(
                err.to_string().contains(&format!("U+{:04X}", u32::from(c))),
                "{err}"
            );
            assert!(!escape(&text).contains(c), "U+{:04X}", u32::from(c));
        }
        assert!(n > 150, "{n} format characters");
        for bad in [
            "lost\u{e0041}\u{e0042}",
            "\u{e0001}tag",
            "a\u{200b}b",
            "a\u{200e}b",
            "a\u{200f}b",
            "a\u{202a}b\u{202c}",
            "a\u{202d}b",
            "a\u{2067}b\u{2069}",
            "a\u{2068}b",
        ] {
            assert!(refuse_control("customer name", bad).is_err(), "{bad:?}");
        }
        assert_eq!(escape("lost\u{e0041}"), "lost\\u{e0041}");
        for good in [
            "山田　太郎",
            "データ商事株式会社　大阪支店",
            "紛失のため（電車内）",
            "葛\u{e0100}飾区",
            "ｶﾌﾞｼｷｶﾞｲｼｬ",
        ] {
            assert!(refuse_control("reason", good).is_ok(), "{good:?}");
            assert_eq!(escape(good), good);
        }
    }

    /// Issue #10: characters that show nothing but are not Cf (a reviewer's Hangul filler
    /// U+3164 and braille blank U+2800 in a name, a noncharacter U+FFFF, private use) are
    /// refused by the same rule, and escaped; every default-ignorable code point but the
    /// ideographic variation selectors, every noncharacter and every private-use character
    /// is; Japanese names, the ideographic space, full-width and half-width forms stay.
    #[test]
    fn invisible_characters_that_are_not_cf_are_refused_and_japanese_kept() {
        use icu_properties::props::{BinaryProperty, DefaultIgnorableCodePoint};
        for cp in [
            0x3164u32, 0x115F, 0x1160, 0x2800, 0x034F, 0xFFFE, 0xFFFF, 0xFDD0, 0xFDEF, 0x1FFFE,
            0x10FFFF, 0xE000, 0xF8FF, 0xF0000, 0x100000, 0x10FFFD, 0xFFA0, 0x180B, 0x180C, 0x180D,
            0x180E, 0x180F, 0xFE00, 0xFE0F, 0x17B4, 0x2065, 0xFFF0, 0xE0080,
        ] {
            let c = char::from_u32(cp).unwrap();
            let text = format!("山田{c}太郎");
            let err = refuse_control("user name", &text).unwrap_err();
            assert!(err.to_string().contains(&format!("U+{cp:04X}")), "{err}");
            assert!(!escape(&text).contains(c), "U+{cp:04X} escaped");
        }
        let ivs = 0xE0100..=0xE01EFu32;
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            if DefaultIgnorableCodePoint::for_char(c) && !ivs.contains(&u32::from(c)) {
                assert!(is_unsafe_char(c), "U+{:04X}", u32::from(c));
            }
        }
        for good in [
            "山田　太郎",
            "葛\u{e0100}飾区",
            "ｶﾌﾞｼｷｶﾞｲｼｬ ﾃﾞｰﾀ",
            "ＡＢＣ商事（株）　１２３",
            "ハングル 한글",
            "点字の会",
            "紛失のため（電車内）〜再発行",
        ] {
            assert!(refuse_control("customer name", good).is_ok(), "{good:?}");
            assert_eq!(escape(good), good);
        }
    }

    /// Issue #10 review: a name made only of combining marks (General_Category M), or one
    /// whose first character is a mark, has no base character: refused, naming the rule;
    /// marks after a base character, Japanese voicing marks included, are kept.
    #[test]
    fn a_name_of_combining_marks_only_or_beginning_with_one_is_refused() {
        for bad in [
            "\u{301}",
            "\u{301}\u{302}\u{303}",
            "\u{20dd}",
            "\u{3099}\u{309a}",
            "\u{903}abc",
            "  \u{301}Tanaka",
            "\u{3000}\u{3099}",
            "\u{e31}",
        ] {
            let err = refuse_unbased_name("user name", bad).unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("user name begins with the combining mark U+")
                    && text.contains("must begin with a base character"),
                "{bad:?}: {text}"
            );
        }
        for good in [
            "Jose\u{301}",
            "e\u{301}cole",
            "か\u{3099}き",
            "山田　太郎",
            "กัน",
            "1\u{20e3}",
            " Tanaka",
        ] {
            assert!(refuse_unbased_name("user name", good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn bidi_overrides_and_line_separators_are_refused_and_escaped() {
        // U+202E reverses what follows in a viewer; U+2028/2029 break lines in some;
        // U+200B hides text; U+FEFF is invisible.
        for bad in [
            "A\u{2028}B",
            "A\u{2029}B",
            "evil\u{202e}txt.exe",
            "a\u{2066}b",
            "x\u{200b}y",
            "\u{feff}C",
        ] {
            assert!(refuse_control("customer name", bad).is_err(), "{bad:?}");
            let shown = escape(bad);
            assert!(!shown.chars().any(is_unsafe_char), "{shown:?}");
        }
        assert_eq!(escape("evil\u{202e}txt"), "evil\\u{202e}txt");
        // Japanese names, full-width spaces and punctuation stay as they are.
        for good in [
            "データ商事 株式会社",
            "山田　太郎",
            "（株）ABC・テスト",
            "O'Brien & Co.",
        ] {
            assert!(refuse_control("customer name", good).is_ok(), "{good:?}");
            assert_eq!(escape(good), good);
        }
    }

    #[test]
    fn a_reason_is_printable_not_blank_and_at_most_200_characters() {
        let ex = "e.g. lost token";
        assert!(check_reason("紛失 (lost on the train)", ex).is_ok());
        assert!(check_reason(&"失".repeat(200), ex).is_ok());
        let long = check_reason(&"失".repeat(201), ex).unwrap_err().to_string();
        assert!(
            long.contains("201 characters") && long.contains("at most 200"),
            "{long}"
        );
        assert!(check_reason("  ", ex)
            .unwrap_err()
            .to_string()
            .contains("give the reason (e.g. lost token)"));
        assert!(check_reason("a\nb", ex).is_err());
    }
}
