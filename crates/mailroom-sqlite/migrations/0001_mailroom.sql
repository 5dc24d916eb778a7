-- tokenline mailing room, schema version 1 (tracked in mailroom_schema_version).
-- Lives in the bank's database file next to the bank's tables (customers, tokens), which it
-- references but never writes. Times are RFC 3339 UTC text; dates are YYYY-MM-DD.

CREATE TABLE mail_addresses (
    customer    TEXT PRIMARY KEY REFERENCES customers (id),
    postal_code TEXT NOT NULL,
    address     TEXT NOT NULL,
    attention   TEXT NOT NULL
);

CREATE TABLE mail_campaigns (
    number          INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    target_expiry   TEXT NOT NULL,
    include_earlier INTEGER NOT NULL,
    min_new_expiry  TEXT NOT NULL,
    deadline        TEXT NOT NULL,
    sender          TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

CREATE TABLE mail_envelopes (
    campaign            INTEGER NOT NULL REFERENCES mail_campaigns (number),
    number              INTEGER NOT NULL,
    customer            TEXT NOT NULL REFERENCES customers (id),
    shipping_started_at TEXT,
    shipped_at          TEXT,
    PRIMARY KEY (campaign, number)
);

-- A token is replaced by one campaign only: the serial is the key.
CREATE TABLE mail_old_tokens (
    serial   TEXT PRIMARY KEY REFERENCES tokens (serial),
    campaign INTEGER NOT NULL,
    envelope INTEGER NOT NULL,
    slot     INTEGER NOT NULL,
    expiry   TEXT NOT NULL,
    users    TEXT NOT NULL, -- JSON array of login IDs
    FOREIGN KEY (campaign, envelope) REFERENCES mail_envelopes (campaign, number)
);
CREATE INDEX mail_old_by_envelope ON mail_old_tokens (campaign, envelope, slot);

-- A stock token is allocated to one envelope only: the serial is the key.
CREATE TABLE mail_new_tokens (
    serial    TEXT PRIMARY KEY REFERENCES tokens (serial),
    campaign  INTEGER NOT NULL,
    envelope  INTEGER NOT NULL,
    slot      INTEGER NOT NULL,
    expiry    TEXT NOT NULL,
    batch     TEXT NOT NULL,
    packed_at TEXT,
    FOREIGN KEY (campaign, envelope) REFERENCES mail_envelopes (campaign, number)
);
CREATE INDEX mail_new_by_envelope ON mail_new_tokens (campaign, envelope, slot);

CREATE TABLE mail_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    campaign INTEGER,
    envelope INTEGER,
    subject  TEXT,
    outcome  TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX mail_events_by_campaign ON mail_events (campaign, id);
