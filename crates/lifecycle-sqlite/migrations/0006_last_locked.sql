-- tokenline bank store, schema version 6 (issue #10 review): when each user was last locked
-- (too many failures or replays), kept after the lockout ends, so that a customer session
-- issued before the lock stays dead after an unlock. A user with a lockout on record when the
-- bank is migrated counts as locked now (the time of the lock was not kept): their sessions
-- end for good; the others have none until their next lock.
ALTER TABLE users ADD COLUMN last_locked_at TEXT;
UPDATE users SET last_locked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE locked_until IS NOT NULL;
