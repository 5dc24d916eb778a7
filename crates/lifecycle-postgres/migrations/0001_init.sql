-- tokenline bank store on PostgreSQL, schema version 1 (the same tables as the SQLite store).
-- Times are RFC 3339 UTC text with nanoseconds (timestamptz keeps microseconds only, and the
-- domain's times round-trip exactly); seeds are AES-256-GCM ciphertext under the bank's master
-- key (nonce per seed, the serial as associated data): the database never holds a seed.
-- Keys are compared byte by byte (COLLATE "C"): identifiers are ASCII, and the index on a
-- million serials is built without the locale's collation rules (import speed).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE customers (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    mode        TEXT NOT NULL CHECK (mode IN ('shared', 'individual')),
    secret_hash TEXT
);

CREATE TABLE imports (
    digest TEXT PRIMARY KEY,
    label  TEXT NOT NULL,
    count  BIGINT NOT NULL,
    at     TEXT NOT NULL
);

CREATE TABLE tokens (
    serial          TEXT COLLATE "C" PRIMARY KEY,
    seed_nonce      BYTEA NOT NULL,
    seed_ct         BYTEA NOT NULL,
    params          TEXT NOT NULL,
    expiry          TEXT NOT NULL,
    batch           TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('stock', 'issued', 'active', 'revoked')),
    status_customer TEXT,
    revoked_at      TEXT,
    drift           BIGINT NOT NULL DEFAULT 0,
    last_step       BIGINT,
    next_counter    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE users (
    login                 TEXT COLLATE "C" PRIMARY KEY,
    customer              TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    name                  TEXT NOT NULL,
    class                 TEXT NOT NULL CHECK (class IN ('master', 'admin', 'general')),
    needs_otp             BOOLEAN NOT NULL,
    secret_hash           TEXT,
    serial                TEXT COLLATE "C" REFERENCES tokens (serial),
    issued                TEXT COLLATE "C" REFERENCES tokens (serial),
    last_revoked_at       TEXT,
    awaiting_registration BOOLEAN NOT NULL DEFAULT FALSE,
    failures              BIGINT NOT NULL DEFAULT 0,
    locked_until          TEXT
);
CREATE INDEX users_by_customer ON users (customer, login);
CREATE INDEX users_by_serial ON users (serial, login);

CREATE TABLE audit (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT,
    action     TEXT NOT NULL,
    customer   TEXT,
    subject    TEXT,
    outcome    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    clock      TEXT
);
CREATE INDEX audit_by_customer ON audit (customer, id);
