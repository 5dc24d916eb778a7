//! A link between rows broken outside tokenline (a user naming a token, a customer or an
//! operator's token that is not there; a token without its seed): the same shape as a
//! damaged column ([`damaged`]), naming the row that holds the link, its column and the row
//! it names, and what to do, on every backend.

use super::*;

/// The key of user `login` of `customer`, as [`damaged`] names it.
fn user_row(customer: &CustomerId, login: &LoginId) -> String {
    key_condition([
        ("customer", Some(KeyValue::Text(customer.to_string()))),
        ("login", Some(KeyValue::Text(login.to_string()))),
    ])
}

/// The key of a row whose key is one text column.
fn text_key(column: &str, value: &str) -> String {
    key_condition([(column, Some(KeyValue::Text(value.to_owned())))])
}

/// The user's `serial` names token `serial`, which table `tokens` does not hold.
pub fn registered_token_missing(
    customer: &CustomerId,
    login: &LoginId,
    serial: &SerialNumber,
) -> StoreError {
    damaged(
        USERS.table,
        &user_row(customer, login),
        "serial",
        format_args!("it names token {serial}, which is missing from table tokens"),
    )
}

/// The user's `customer` names a customer that table `customers` does not hold.
pub fn customer_missing(customer: &CustomerId, login: &LoginId) -> StoreError {
    damaged(
        USERS.table,
        &user_row(customer, login),
        "customer",
        format_args!("it names customer {customer}, which is missing from table customers"),
    )
}

/// The operator's `serial` names a staff token that table `tokens` does not hold.
pub fn operator_token_missing(operator: &OperatorId, serial: &SerialNumber) -> StoreError {
    damaged(
        OPERATORS.table,
        &text_key("name", operator.as_str()),
        "serial",
        format_args!("it names token {serial}, which is missing from table tokens"),
    )
}

/// Token `serial`'s row reads, but its sealed seed does not (the seed columns are empty, or
/// the row went between the two reads).
pub fn seed_missing(serial: &SerialNumber) -> StoreError {
    damaged(
        SEALED_SEED.table,
        &text_key("serial", serial.as_str()),
        "seed_ct",
        "the token has no seed",
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_registered_token_names_the_users_row_the_column_and_what_to_do() {
        let e = registered_token_missing(
            &CustomerId::parse("C001").unwrap(),
            &LoginId::parse("taro").unwrap(),
            &SerialNumber::parse("59999999").unwrap(),
        );
        assert_eq!(
            e,
            StoreError::Corrupt(format!(
                "table users, row where customer = 'C001' AND login = 'taro', column serial: \
                 it names token 59999999, which is missing from table tokens; {REPAIR}"
            ))
        );
    }

    #[test]
    fn a_missing_seed_customer_or_staff_token_is_named_like_a_damaged_row() {
        let (c, l) = (
            CustomerId::parse("C001").unwrap(),
            LoginId::parse("taro").unwrap(),
        );
        let s = SerialNumber::parse("12345678").unwrap();
        let op = OperatorId::parse("suzuki").unwrap();
        for (e, head) in [
            (
                seed_missing(&s),
                "table tokens, row where serial = '12345678', column seed_ct: the token has no seed",
            ),
            (
                customer_missing(&c, &l),
                "table users, row where customer = 'C001' AND login = 'taro', column customer: \
                 it names customer C001, which is missing from table customers",
            ),
            (
                operator_token_missing(&op, &s),
                "table operators, row where name = 'suzuki', column serial: it names token \
                 12345678, which is missing from table tokens",
            ),
        ] {
            assert_eq!(e, StoreError::Corrupt(format!("{head}; {REPAIR}")));
        }
    }
}
