//! The customer file: the bytes of `customers.csv` to [`CustomerRow`]s, the same for
//! `tokenline bank customers import FILE.csv` and `POST /v1/customer-imports` (issue #15).
//!
//! RFC 4180 CSV, UTF-8 (a leading byte order mark is dropped), a header row naming the nine
//! columns of [`HEADER`] in that order, one user a row, as `fixtures/mailroom/customers.csv`:
//!
//! ```text
//! customer,customer_name,mode,login,user_name,class,needs_otp,serial,expiry
//! C0001,株式会社中村工業1,individual,c0001u1,山田健,master,true,23000001,2023-03-31
//! ```
//!
//! `mode` shared|individual; `class` master|admin|general; `needs_otp` true|false; `serial`
//! the token the user already uses (empty if none); `expiry` (YYYY-MM-DD, may be empty) the
//! date on that token's back, checked against the bank's stock. Fields are trimmed. The first
//! malformed field refuses the whole file with [`Error::InvalidCustomerFile`], naming its line
//! and column; a file over [`MAX_FILE_BYTES`] is refused unread.

use chrono::NaiveDate;

use super::CustomerRow;
use crate::error::Error;
use crate::ids::{CustomerId, LoginId, SerialNumber};
use crate::model::{UsageMode, UserClass};

/// The largest customer file accepted (bytes): about 200 000 users, one transaction.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// The header row, column by column.
pub const HEADER: [&str; 9] = [
    "customer",
    "customer_name",
    "mode",
    "login",
    "user_name",
    "class",
    "needs_otp",
    "serial",
    "expiry",
];

fn refused(line: usize, field: &'static str, message: String) -> Error {
    Error::InvalidCustomerFile {
        line,
        field,
        message,
    }
}

/// A CSV reading error (bad UTF-8, a row with another number of fields) at its line.
fn csv_error(e: &csv::Error) -> Error {
    let line = e.position().map_or(0, |p| p.line() as usize);
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "the file is not UTF-8: save it as UTF-8".to_owned(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "{len} fields where the header has {expected_len}: every row has the {} columns",
            HEADER.len()
        ),
        _ => format!("not a CSV row: {e}"),
    };
    refused(line, "file", message)
}

/// Parses a customer file (module docs). Nothing is checked against the bank here: that is
/// [`super::import_customers`]'s, in its transaction.
pub fn parse(bytes: &[u8]) -> Result<Vec<CustomerRow>, Error> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(Error::InvalidInput(format!(
            "the customer file has {} bytes, more than the {MAX_FILE_BYTES} one may have: split it by customer; nothing was imported",
            bytes.len()
        )));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header = r.headers().map_err(|e| csv_error(&e))?.clone();
    if header.iter().ne(HEADER) {
        return Err(refused(
            1,
            "header",
            format!(
                "the header must be `{}` (found `{}`)",
                HEADER.join(","),
                header.iter().collect::<Vec<_>>().join(",")
            ),
        ));
    }
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| csv_error(&e))?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let f = |c: usize| rec.get(c).unwrap_or("");
        let bad = |col: &'static str, why: String| refused(line, col, why);
        let customer = CustomerId::parse(f(0)).map_err(|e| bad("customer", e.to_string()))?;
        let mode = UsageMode::parse(f(2))
            .ok_or_else(|| bad("mode", format!("{:?} is not shared or individual", f(2))))?;
        let login = LoginId::parse(f(3)).map_err(|e| bad("login", e.to_string()))?;
        let class = UserClass::parse(f(5)).ok_or_else(|| {
            bad(
                "class",
                format!("{:?} is not master, admin or general", f(5)),
            )
        })?;
        let needs_otp = match f(6) {
            "true" => true,
            "false" => false,
            other => return Err(bad("needs_otp", format!("{other:?} is not true or false"))),
        };
        let serial = match f(7) {
            "" => None,
            s => Some(SerialNumber::parse(s).map_err(|e| bad("serial", e.to_string()))?),
        };
        let expiry = match f(8) {
            "" => None,
            s => Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                bad(
                    "expiry",
                    format!("{s:?} is not a date in the format YYYY-MM-DD"),
                )
            })?),
        };
        if expiry.is_some() && serial.is_none() {
            return Err(bad(
                "expiry",
                "an expiry without a serial: give the serial of the token it is printed on, or leave both empty".into(),
            ));
        }
        rows.push(CustomerRow {
            line,
            customer,
            customer_name: f(1).to_owned(),
            mode,
            login,
            user_name: f(4).to_owned(),
            class,
            needs_otp,
            serial,
            expiry,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const HEAD: &str =
        "customer,customer_name,mode,login,user_name,class,needs_otp,serial,expiry\n";

    fn refusal(text: &str) -> (usize, &'static str, String) {
        match parse(text.as_bytes()).unwrap_err() {
            Error::InvalidCustomerFile {
                line,
                field,
                message,
            } => (line, field, message),
            e => panic!("not a customer file refusal: {e}"),
        }
    }

    #[test]
    fn the_fixture_rows_parse_with_their_line_numbers() {
        let text = format!(
            "\u{feff}{HEAD}C0001,株式会社中村工業1,individual,c0001u1,山田健,master,true,23000001,2023-03-31\n\
             C0001, 株式会社中村工業1 ,individual,c0001u2,佐藤,general,false,,\n"
        );
        let rows = parse(text.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[1].line), (2, 3));
        assert_eq!(rows[0].serial.as_ref().unwrap().as_str(), "23000001");
        assert_eq!(rows[0].expiry, NaiveDate::from_ymd_opt(2023, 3, 31));
        assert_eq!(rows[1].customer_name, "株式会社中村工業1", "trimmed");
        assert!(!rows[1].needs_otp && rows[1].serial.is_none());
    }

    #[test]
    fn each_bad_field_is_named_with_its_line() {
        let ok = "C1,一,individual,c1m,一郎,master,true,,";
        for (row, field) in [
            ("C 1,一,individual,c1m,一郎,master,true,,", "customer"),
            ("C1,一,both,c1m,一郎,master,true,,", "mode"),
            ("C1,一,individual,c1 m,一郎,master,true,,", "login"),
            ("C1,一,individual,c1m,一郎,boss,true,,", "class"),
            ("C1,一,individual,c1m,一郎,master,maybe,,", "needs_otp"),
            ("C1,一,individual,c1m,一郎,master,true,12,", "serial"),
            (
                "C1,一,individual,c1m,一郎,master,true,23000001,31/03/23",
                "expiry",
            ),
            (
                "C1,一,individual,c1m,一郎,master,true,,2023-03-31",
                "expiry",
            ),
            ("C1,一,individual,c1m,一郎,master,true", "file"),
        ] {
            let (line, f, message) = refusal(&format!("{HEAD}{ok}\n{row}\n"));
            assert_eq!((line, f), (3, field), "{row}: {message}");
        }
    }

    #[test]
    fn a_wrong_header_or_bad_utf8_is_refused_naming_the_line() {
        let (line, field, message) = refusal("customer,name\nC1,一\n");
        assert_eq!((line, field), (1, "header"));
        assert!(message.contains(&HEADER.join(",")), "{message}");
        let mut bytes = HEAD.as_bytes().to_vec();
        bytes.extend_from_slice(b"C1,\xff\xfe,individual,c1m,x,master,true,,\n");
        match parse(&bytes).unwrap_err() {
            Error::InvalidCustomerFile { line, message, .. } => {
                assert_eq!(line, 2);
                assert!(message.contains("UTF-8"), "{message}");
            }
            e => panic!("{e}"),
        }
    }

    #[test]
    fn a_file_over_the_bound_is_refused_before_reading() {
        let big = vec![b' '; MAX_FILE_BYTES + 1];
        let e = parse(&big).unwrap_err();
        assert!(
            matches!(e, Error::InvalidInput(_)) && e.to_string().contains("split it"),
            "{e}"
        );
    }
}
