-- tokenline bank store, schema version 7 (issue #10 review L1): how a dual-control request
-- ended without being carried out — withdrawn by its requester or rejected by another
-- supervisor with a reason — as JSON (`{"how":"withdrawn","by":…,"at":…}`); NULL while open
-- or once approved. Existing requests are open or approved: NULL.
ALTER TABLE backoffice_requests ADD COLUMN ended TEXT;
