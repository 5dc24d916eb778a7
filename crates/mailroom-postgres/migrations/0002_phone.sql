-- tokenline mailing room on PostgreSQL, schema version 2: a customer's phone number for
-- follow-up (the overdue report), imported with the address; empty when none was given.
ALTER TABLE mail_addresses ADD COLUMN phone TEXT NOT NULL DEFAULT '';
