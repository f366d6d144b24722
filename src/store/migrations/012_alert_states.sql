-- The last state delivered for each alert key ("expiring:<sha256>" ->
-- "7d", ...), so that an alert goes out once per state change, across
-- restarts and nodes. Managed rows keep their own (managed.last_alert).
CREATE TABLE alert_states (
	key TEXT PRIMARY KEY,
	state TEXT NOT NULL,
	updated INTEGER NOT NULL
) WITHOUT ROWID;
-- The expiry rule skips certificates a managed certificate has replaced.
CREATE INDEX managed_cn ON managed(cn);
