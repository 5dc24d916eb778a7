-- tokenline bank store, schema version 4 (issue #15): a user's key is (customer, login ID).
-- Login IDs are unique per customer (契約者), not bank-wide: two customers may each have a
-- user `admin01`. Every row that named a user by login ID alone now names its customer too.

-- users: rebuild with the primary key (customer, login) (SQLite cannot change a primary key
-- in place: the documented 12-step procedure, as in 0002). Dropping the old table drops its
-- indexes; the primary key now serves a customer's users by login.
CREATE TABLE users_v4 (
    login                 TEXT NOT NULL,
    customer              TEXT NOT NULL REFERENCES customers (id),
    name                  TEXT NOT NULL,
    class                 TEXT NOT NULL CHECK (class IN ('master', 'admin', 'general')),
    needs_otp             INTEGER NOT NULL,
    secret_hash           TEXT,
    serial                TEXT REFERENCES tokens (serial),
    issued                TEXT REFERENCES tokens (serial),
    last_revoked_at       TEXT,
    awaiting_registration INTEGER NOT NULL DEFAULT 0,
    failures              INTEGER NOT NULL DEFAULT 0,
    locked_until          TEXT,
    token_management      INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (customer, login)
) WITHOUT ROWID;
INSERT INTO users_v4 (login, customer, name, class, needs_otp, secret_hash, serial, issued,
                      last_revoked_at, awaiting_registration, failures, locked_until,
                      token_management)
    SELECT login, customer, name, class, needs_otp, secret_hash, serial, issued,
           last_revoked_at, awaiting_registration, failures, locked_until, token_management
    FROM users;
DROP TABLE users;
ALTER TABLE users_v4 RENAME TO users;
-- A login ID named without its customer (the CLI) is resolved through this index.
CREATE INDEX users_by_login ON users (login, customer);
CREATE INDEX users_by_serial ON users (serial, customer, login);

-- throttles: `login:LOGIN` / `replay:LOGIN` become `login:CUSTOMER/LOGIN` /
-- `replay:CUSTOMER/LOGIN` (a login ID never holds '/'). A `login:` count of a name no user
-- has (failures on an unknown login) names no customer: it is dropped, as an expired one.
UPDATE throttles SET key = 'login:' || u.customer || '/' || u.login
    FROM users u WHERE throttles.key = 'login:' || u.login;
UPDATE throttles SET key = 'replay:' || u.customer || '/' || u.login
    FROM users u WHERE throttles.key = 'replay:' || u.login;
DELETE FROM throttles
    WHERE (key LIKE 'login:%' OR key LIKE 'replay:%') AND instr(key, '/') = 0;

-- backoffice_requests: an unlock or a revocation of a user's token names the user's customer
-- (`{"kind":"unlock","login":"x"}` gains `"customer":"C"`). A request naming a user who no
-- longer exists cannot be carried out; it is dropped (the audit trail keeps its filing).
UPDATE backoffice_requests SET kind = json_set(kind, '$.customer', u.customer)
    FROM users u WHERE json_extract(backoffice_requests.kind, '$.login') = u.login;
DELETE FROM backoffice_requests
    WHERE json_extract(kind, '$.login') IS NOT NULL
      AND json_extract(kind, '$.customer') IS NULL;
