-- tokenline bank store, schema version 5 (issue #11): each user's login password
-- (ログインパスワード), the first factor of a customer user's login, as an Argon2id PHC hash;
-- distinct from the confirmation password (secret_hash). Users that existed before have none
-- and cannot log in on the pages until the bank or their master sets one.
ALTER TABLE users ADD COLUMN login_password_hash TEXT;
