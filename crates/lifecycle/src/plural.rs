//! Counts in English text, in the form that fits them: `1 token`, `2 tokens`, `0 addresses`
//! (issue #10 review: the CLI printed "1 token(s)", the errors "1 attempts left").

/// `n` and `noun` (its singular) in the number that fits: the singular for 1, else the
/// regular English plural of its last word (`-s`; `-es` after s, x, z, ch, sh; `-ies` after a
/// consonant and y). Irregular plurals are not known: give a regular noun.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {}", plural(noun))
    }
}

/// The regular English plural of `noun` (its last word).
fn plural(noun: &str) -> String {
    let consonant_y =
        noun.ends_with('y') && !noun[..noun.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']);
    if consonant_y {
        format!("{}ies", &noun[..noun.len() - 1])
    } else if noun.ends_with(['s', 'x', 'z']) || noun.ends_with("ch") || noun.ends_with("sh") {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_takes_the_singular_for_one_and_the_regular_plural_otherwise() {
        assert_eq!(count(1, "token"), "1 token");
        assert_eq!(count(0, "token"), "0 tokens");
        assert_eq!(count(2, "seed file"), "2 seed files");
        assert_eq!(count(3, "address"), "3 addresses");
        assert_eq!(count(2, "entry"), "2 entries");
        assert_eq!(count(2, "day"), "2 days");
        assert_eq!(count(1, "address"), "1 address");
        assert_eq!(count(2, "match"), "2 matches");
    }
}
