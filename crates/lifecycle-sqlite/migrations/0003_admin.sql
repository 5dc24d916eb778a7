-- tokenline bank store, schema version 3 (issue #15): the token-management permission
-- (利用権限, seed 002) per user, and indexes for listing tokens by status and by customer.

-- Users that existed before keep what they could do: master and admin users hold the
-- permission, general users (who may not manage tokens by class anyway) do not.
ALTER TABLE users ADD COLUMN token_management INTEGER NOT NULL DEFAULT 1;
UPDATE users SET token_management = 0 WHERE class = 'general';

CREATE INDEX tokens_by_status ON tokens (status, serial);
CREATE INDEX tokens_by_customer ON tokens (status_customer, serial);
