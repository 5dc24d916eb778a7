-- tokenline mailing room, schema version 2: a campaign can be cancelled (`mailroom cancel`).
-- Its envelopes and token rows are deleted (the stock is free again); the campaign row stays,
-- with the time of cancellation, so its number and audit events keep their meaning.
ALTER TABLE mail_campaigns ADD COLUMN cancelled_at TEXT;
