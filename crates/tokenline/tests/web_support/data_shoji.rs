//! The customer of the admin-screen browser tests (`web_customer_admin`,
//! `web_customer_login_password`): C0001 データ商事 under policy 004, its master, admin and
//! general users with registered tokens, and the steps those tests take on it — a browser
//! logged in as one of them, a form sent with the user's proof, a forged POST, the audit log.

use super::{BankDb, Browser, Server, SimTokens, SECRET};

/// The customer ID.
pub const C: &str = "C0001";
/// The server's staging clock; codes are read one step before (the login) and at this
/// instant (the proof), and one step after, in this order for each token (the bank follows a
/// token's drift: after a code of the step before, the step after is two steps away).
pub const NOW: &str = "2023-04-12T10:00:00+09:00";
/// One time step before [`NOW`] (the login's code).
pub const BEFORE: &str = "2023-04-12T09:59:30+09:00";
/// One time step after [`NOW`] (a second proof).
pub const AFTER: &str = "2023-04-12T10:00:30+09:00";

/// The users registered by [`data_shoji`]: login ID, name, class, serial.
pub const USERS: [(&str, &str, &str, &str); 3] = [
    ("taro", "データ太郎", "master", "23456781"),
    ("hanako", "データ花子", "admin", "23456782"),
    ("jiro", "データ二郎", "general", "23456783"),
];

/// The serial of `login`'s token in [`data_shoji`].
pub fn serial_of(login: &str) -> &'static str {
    USERS
        .iter()
        .find(|u| u.0 == login)
        .map(|u| u.3)
        .unwrap_or_else(|| panic!("{login} has no token in C0001"))
}

/// Policy 004, customer [`C`] (データ商事, individual mode) with the users [`USERS`], each
/// with the confirmation password [`SECRET`], the login password
/// [`super::login_password`] and their token registered on 2023-04-01; `tokens` simulated
/// tokens from 23456781 (those past the third stay in stock).
pub fn data_shoji(tokens: usize) -> (BankDb, SimTokens) {
    let bank = BankDb::new("bank-004.toml");
    let sim = SimTokens::make(bank.dir.path(), 23456781, tokens);
    bank.import(&sim);
    bank.customer(C, "データ商事", "individual");
    for (login, name, class, serial) in USERS {
        bank.user(C, login, name, class);
        bank.register(login, serial, &sim, "2023-04-01T10:00:00+09:00");
    }
    (bank, sim)
}

impl BankDb {
    /// The entries of `bank audit --json` whose action is `action`, oldest first.
    pub fn audit(&self, action: &str) -> Vec<serde_json::Value> {
        self.ok(&["audit", "--json"])
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["action"] == action)
            .collect()
    }

    /// The server on the staging clock [`NOW`], a browser for `test` (screenshots under
    /// target/screens/TEST/), and `login` of [`C`] logged in with the code of their token
    /// one step before ([`BEFORE`]): the home page's text as `shot`.
    pub async fn open_as(
        &self,
        tokens: &SimTokens,
        test: &str,
        login: &str,
        shot: &str,
    ) -> (Server, Browser, String) {
        let s = self.serve(&format!("fixed:{NOW}"));
        let mut b = Browser::start(test).await;
        let t = b.log_in_to_shoji(&s.url, tokens, login, BEFORE, shot).await;
        (s, b, t)
    }
}

impl Browser {
    /// `login` of [`C`] logs in with the code their token shows at `at`.
    pub async fn log_in_to_shoji(
        &mut self,
        url: &str,
        tokens: &SimTokens,
        login: &str,
        at: &str,
        shot: &str,
    ) -> String {
        let code = tokens.code(serial_of(login), at);
        self.login_as(url, C, login, Some(&code), shot).await
    }

    /// Sends the form of button `submit` with `fields` and the user's proof (the code `code`,
    /// the confirmation password [`SECRET`]), waits for `css` and sees the page as `name`.
    pub async fn submit_with_proof(
        &mut self,
        fields: &[(&str, &str)],
        code: &str,
        submit: &str,
        css: &str,
        name: &str,
    ) -> String {
        let mut all = fields.to_vec();
        all.extend([("code", code), ("secret", SECRET)]);
        self.submit(&all, submit, css, name).await
    }

    /// From the home page of `url` (seen as `NAME-home`), posts a form the user is not
    /// offered to `action`, with `fields` and the user's proof (the code `code`, the
    /// confirmation password [`SECRET`]), and sees the refusal as `name`: its text.
    pub async fn forge_post_with_proof(
        &mut self,
        url: &str,
        action: &str,
        fields: &[(&str, &str)],
        code: &str,
        name: &str,
    ) -> String {
        self.visit(&format!("{url}/"), &format!("{name}-home"))
            .await;
        let mut all = fields.to_vec();
        all.extend([("code", code), ("secret", SECRET)]);
        self.forge_post(action, &all).await;
        self.wait_and_see("p.error", name).await
    }
}
