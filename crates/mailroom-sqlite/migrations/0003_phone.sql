-- tokenline mailing room, schema version 3: a customer's phone number for follow-up (the
-- overdue report), imported with the address; empty when the address file has none.
ALTER TABLE mail_addresses ADD COLUMN phone TEXT NOT NULL DEFAULT '';
