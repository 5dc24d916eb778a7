//! The path and query of a request: percent-decoding (the `percent-encoding` and
//! `form_urlencoded` crates of the `url` project, not our own decoder) and the query
//! parameters the routes read.

use super::reply::Reply;
use lifecycle::{CustomerId, LoginId, UserRef};

/// The path `s` with its `%XX` escapes decoded (RFC 3986 §2.1; `+` stays `+`, as in a
/// path); an invalid escape is kept as typed, invalid UTF-8 becomes U+FFFD.
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The decoded pairs of a query string `a=1&b=2` (`application/x-www-form-urlencoded`:
/// `%XX` and `+` for a space).
pub fn query_pairs(q: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The value of the query parameter `k` (the first one, if repeated).
pub(super) fn query<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
}

/// `page` from the query (default 1).
pub(super) fn page_of(q: &[(String, String)]) -> Result<usize, Reply> {
    match query(q, "page") {
        None => Ok(1),
        Some(p) => p
            .parse::<usize>()
            .map_err(|_| Reply::error(400, "invalid_input", "page must be a number from 1")),
    }
}

/// The user named by a path's `{id}` and `{login}` segments.
pub(super) fn user_at(id: &str, login: &str) -> Result<UserRef, Reply> {
    let bad = |e: lifecycle::IdError| Reply::error(400, "invalid_input", e.to_string());
    Ok(UserRef::new(
        CustomerId::parse(id).map_err(bad)?,
        LoginId::parse(login).map_err(bad)?,
    ))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_decoded() {
        assert_eq!(
            query_pairs("filter=%E8%8A%B1%E5%AD%90&page=2&name=a+b"),
            vec![
                ("filter".to_string(), "花子".to_string()),
                ("page".to_string(), "2".to_string()),
                ("name".to_string(), "a b".to_string()),
            ]
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(
            percent_decode("/v1/customers/C%31/users"),
            "/v1/customers/C1/users"
        );
        assert_eq!(percent_decode("a+b"), "a+b", "a path keeps its +");
    }
}
