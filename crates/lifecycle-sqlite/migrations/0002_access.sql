-- tokenline bank store, schema version 2 (issue #10): API clients, operators and their
-- sessions, dual-control requests, throttles, per-token lockout, the 'staff' token status,
-- and the audit hash chain.

-- tokens: add 'staff' to the status check and the per-token failure count / lockout.
-- SQLite cannot change a CHECK in place: rebuild the table (SQLite's documented 12-step
-- procedure: `migrate` turns foreign keys off around migrations and runs
-- `PRAGMA foreign_key_check` before each commit).
CREATE TABLE tokens_v2 (
    serial          TEXT PRIMARY KEY,
    seed_nonce      BLOB NOT NULL,
    seed_ct         BLOB NOT NULL,
    params          TEXT NOT NULL,
    expiry          TEXT NOT NULL,
    batch           TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('stock', 'issued', 'active', 'revoked', 'staff')),
    status_customer TEXT,
    revoked_at      TEXT,
    drift           INTEGER NOT NULL DEFAULT 0,
    last_step       INTEGER,
    next_counter    INTEGER NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT
) WITHOUT ROWID;
INSERT INTO tokens_v2 (serial, seed_nonce, seed_ct, params, expiry, batch, status,
                       status_customer, revoked_at, drift, last_step, next_counter)
    SELECT serial, seed_nonce, seed_ct, params, expiry, batch, status,
           status_customer, revoked_at, drift, last_step, next_counter FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_v2 RENAME TO tokens;

-- audit: the caller that carried the request, and the hash chain. Entries written before
-- this version are chained by the migration step in code (lib.rs, `chain_legacy_audit`).
ALTER TABLE audit ADD COLUMN via TEXT;
ALTER TABLE audit ADD COLUMN prev TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN digest TEXT NOT NULL DEFAULT '';

CREATE TABLE api_clients (
    name       TEXT PRIMARY KEY,
    scopes     TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE operators (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('operator', 'supervisor')),
    password_hash TEXT NOT NULL,
    serial        TEXT NOT NULL REFERENCES tokens (serial),
    failures      INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE operator_sessions (
    token_hash TEXT PRIMARY KEY,
    operator   TEXT NOT NULL REFERENCES operators (name),
    client     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen  TEXT NOT NULL
);

CREATE TABLE backoffice_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    approved_by  TEXT,
    approved_at  TEXT
);

CREATE TABLE throttles (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until TEXT
);
