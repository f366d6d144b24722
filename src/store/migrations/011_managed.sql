-- Issuer connectors by name: the built-in CA ("local") or an upstream CA
-- ("acme"). config is the JSON of the non-secret settings; secrets is the
-- sealed JSON of the secret ones (EAB HMAC key, ACME account key). A
-- failing issuer trips a breaker: no attempts before open_until.
CREATE TABLE issuers (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	type TEXT NOT NULL,
	config TEXT NOT NULL,
	secrets BLOB,
	account_url TEXT,
	failures INTEGER NOT NULL DEFAULT 0,  -- consecutive
	open_until INTEGER NOT NULL DEFAULT 0,
	created INTEGER NOT NULL,
	actor TEXT NOT NULL
);

-- The certificates certkeep keeps alive. cert_id is the current one;
-- key is its private key, sealed under the master key (bound to the
-- name). next_action is when the scheduler looks at the row again.
-- renew_frac (0-1000, thousandths of the lifetime) or renew_before
-- (seconds before expiry) is the renewal rule.
CREATE TABLE managed (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	cn TEXT NOT NULL,
	sans TEXT NOT NULL,              -- comma list, "DNS:a,IP:b"
	key_type TEXT NOT NULL,
	issuer TEXT NOT NULL,            -- issuers.name
	profile TEXT NOT NULL,
	days INTEGER NOT NULL,           -- 0: the issuer's choice
	renew_frac INTEGER NOT NULL,
	renew_before INTEGER NOT NULL,
	reuse_key INTEGER NOT NULL,
	owner TEXT NOT NULL,
	contact TEXT NOT NULL,
	tags TEXT NOT NULL,
	key_out TEXT NOT NULL,           -- "" for none
	cert_out TEXT NOT NULL,
	chain_out TEXT NOT NULL,
	state TEXT NOT NULL,             -- pending, active, failing, retired
	cert_id INTEGER REFERENCES certificates(id),
	key BLOB,
	written_cert_id INTEGER,         -- what the files hold
	next_action INTEGER NOT NULL,
	renew_at INTEGER NOT NULL,       -- when the current cert is due
	ari_checked INTEGER NOT NULL DEFAULT 0,
	failures INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	last_alert TEXT NOT NULL DEFAULT '',  -- state of the last alert sent
	issued_count INTEGER NOT NULL DEFAULT 0,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	actor TEXT NOT NULL
);
CREATE INDEX managed_next ON managed(next_action);
CREATE INDEX managed_issuer ON managed(issuer);

-- One queue for background work (renew, deploy, notify, ...). A worker
-- claims a due row by setting its lease; a lease that runs out (a node
-- died) makes the job claimable again. (kind, subject) has at most one
-- job open.
CREATE TABLE jobs (
	id INTEGER PRIMARY KEY,
	kind TEXT NOT NULL,
	subject TEXT NOT NULL,
	run_at INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	lease_owner TEXT,
	lease_until INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	created INTEGER NOT NULL,
	UNIQUE (kind, subject)
);
CREATE INDEX jobs_due ON jobs(run_at);
