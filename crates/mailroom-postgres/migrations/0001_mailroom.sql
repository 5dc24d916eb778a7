-- tokenline mailing room on PostgreSQL, schema version 1 (tracked in mailroom_schema_version):
-- the tables of mailroom-sqlite's migrations 0001 and 0002, next to the bank's tables, which
-- they reference but never write. Times are RFC 3339 UTC text; dates are YYYY-MM-DD.

CREATE TABLE mail_addresses (
    customer    TEXT COLLATE "C" PRIMARY KEY REFERENCES customers (id),
    postal_code TEXT NOT NULL,
    address     TEXT NOT NULL,
    attention   TEXT NOT NULL
);

CREATE TABLE mail_campaigns (
    number          BIGINT PRIMARY KEY,
    name            TEXT NOT NULL,
    target_expiry   TEXT NOT NULL,
    include_earlier BOOLEAN NOT NULL,
    min_new_expiry  TEXT NOT NULL,
    deadline        TEXT NOT NULL,
    sender          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    cancelled_at    TEXT
);

CREATE TABLE mail_envelopes (
    campaign            BIGINT NOT NULL REFERENCES mail_campaigns (number),
    number              BIGINT NOT NULL,
    customer            TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    shipping_started_at TEXT,
    shipped_at          TEXT,
    PRIMARY KEY (campaign, number)
);

-- A token is replaced by one campaign only: the serial is the key.
CREATE TABLE mail_old_tokens (
    serial   TEXT COLLATE "C" PRIMARY KEY REFERENCES tokens (serial),
    campaign BIGINT NOT NULL,
    envelope BIGINT NOT NULL,
    slot     BIGINT NOT NULL,
    expiry   TEXT NOT NULL,
    users    TEXT NOT NULL, -- JSON array of login IDs
    FOREIGN KEY (campaign, envelope) REFERENCES mail_envelopes (campaign, number)
);
CREATE INDEX mail_old_by_envelope ON mail_old_tokens (campaign, envelope, slot);

-- A stock token is allocated to one envelope only: the serial is the key.
CREATE TABLE mail_new_tokens (
    serial    TEXT COLLATE "C" PRIMARY KEY REFERENCES tokens (serial),
    campaign  BIGINT NOT NULL,
    envelope  BIGINT NOT NULL,
    slot      BIGINT NOT NULL,
    expiry    TEXT NOT NULL,
    batch     TEXT NOT NULL,
    packed_at TEXT,
    FOREIGN KEY (campaign, envelope) REFERENCES mail_envelopes (campaign, number)
);
CREATE INDEX mail_new_by_envelope ON mail_new_tokens (campaign, envelope, slot);

CREATE TABLE mail_events (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    campaign BIGINT,
    envelope BIGINT,
    subject  TEXT,
    outcome  TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX mail_events_by_campaign ON mail_events (campaign, id);
