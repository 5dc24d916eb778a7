-- tokenline bank store on PostgreSQL, schema version 4 (issue #15), as lifecycle-sqlite's
-- 0004: a user's key is (customer, login ID). Login IDs are unique per customer (契約者), not
-- bank-wide: two customers may each have a user `admin01`.

ALTER TABLE users DROP CONSTRAINT users_pkey;
ALTER TABLE users ADD PRIMARY KEY (customer, login);
-- The primary key now serves a customer's users by login.
DROP INDEX users_by_customer;
-- A login ID named without its customer (the CLI) is resolved through this index.
CREATE INDEX users_by_login ON users (login, customer);
DROP INDEX users_by_serial;
CREATE INDEX users_by_serial ON users (serial, customer, login);

-- throttles: `login:LOGIN` / `replay:LOGIN` become `login:CUSTOMER/LOGIN` /
-- `replay:CUSTOMER/LOGIN` (a login ID never holds '/'). A `login:` count of a name no user
-- has (failures on an unknown login) names no customer: it is dropped, as an expired one.
UPDATE throttles t SET key = 'login:' || u.customer || '/' || u.login
    FROM users u WHERE t.key = 'login:' || u.login;
UPDATE throttles t SET key = 'replay:' || u.customer || '/' || u.login
    FROM users u WHERE t.key = 'replay:' || u.login;
DELETE FROM throttles
    WHERE (key LIKE 'login:%' OR key LIKE 'replay:%') AND position('/' in key) = 0;

-- backoffice_requests: an unlock or a revocation of a user's token names the user's customer
-- (`{"kind":"unlock","login":"x"}` gains `"customer":"C"`). A request naming a user who no
-- longer exists cannot be carried out; it is dropped (the audit trail keeps its filing).
UPDATE backoffice_requests r
    SET kind = jsonb_set(r.kind::jsonb, '{customer}', to_jsonb(u.customer::text))::text
    FROM users u WHERE r.kind::jsonb ->> 'login' = u.login;
DELETE FROM backoffice_requests
    WHERE kind::jsonb ? 'login' AND NOT kind::jsonb ? 'customer';
