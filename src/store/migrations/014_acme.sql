-- The ACME server's state (src/acme, RFC 8555). Rows belong to a built-in
-- CA by name, the <ca> of /acme/<ca>/. Accounts are keyed by their key's
-- RFC 7638 thumbprint; orders own their authorizations, which own their
-- challenges. Nonces live here, not in memory, so that any node of a
-- cluster accepts a nonce another node handed out; each is deleted when
-- used. Times are epoch seconds.
CREATE TABLE acme_accounts (
	id INTEGER PRIMARY KEY,
	ca TEXT NOT NULL,
	thumbprint TEXT NOT NULL,
	jwk TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'valid'
	    CHECK (status IN ('valid', 'deactivated', 'revoked')),
	contact TEXT NOT NULL DEFAULT '[]',
	eab_kid TEXT,
	created_at INTEGER NOT NULL,
	UNIQUE (ca, thumbprint)
);
-- External Account Binding keys: the HMAC key sealed under the master key
-- (aad "acme-eab:<kid>"), bound to the first account that uses it.
CREATE TABLE acme_eab_keys (
	kid TEXT PRIMARY KEY,
	ca TEXT NOT NULL,
	hmac_sealed BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	account_id INTEGER REFERENCES acme_accounts (id)
);
CREATE TABLE acme_orders (
	id INTEGER PRIMARY KEY,
	account_id INTEGER NOT NULL REFERENCES acme_accounts (id),
	status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
	    ('pending', 'ready', 'processing', 'valid', 'invalid')),
	identifiers TEXT NOT NULL, -- JSON array of {type, value}
	expires INTEGER NOT NULL,
	not_before INTEGER NOT NULL DEFAULT 0,
	not_after INTEGER NOT NULL DEFAULT 0,
	cert_id INTEGER REFERENCES certificates (id),
	replaces TEXT,
	error TEXT, -- problem document JSON
	created_at INTEGER NOT NULL
);
CREATE INDEX acme_orders_account ON acme_orders (account_id);
CREATE INDEX acme_orders_cert ON acme_orders (cert_id)
    WHERE cert_id IS NOT NULL;
CREATE TABLE acme_authzs (
	id INTEGER PRIMARY KEY,
	order_id INTEGER NOT NULL REFERENCES acme_orders (id),
	account_id INTEGER NOT NULL REFERENCES acme_accounts (id),
	type TEXT NOT NULL CHECK (type IN ('dns', 'ip')),
	value TEXT NOT NULL,
	wildcard INTEGER NOT NULL DEFAULT 0,
	status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending',
	    'valid', 'invalid', 'deactivated', 'expired', 'revoked')),
	expires INTEGER NOT NULL
);
CREATE INDEX acme_authzs_order ON acme_authzs (order_id);
CREATE TABLE acme_challenges (
	id INTEGER PRIMARY KEY,
	authz_id INTEGER NOT NULL REFERENCES acme_authzs (id),
	type TEXT NOT NULL,
	token TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'pending'
	    CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
	validated INTEGER NOT NULL DEFAULT 0,
	error TEXT -- problem document JSON
);
CREATE INDEX acme_challenges_authz ON acme_challenges (authz_id);
CREATE TABLE acme_nonces (
	nonce TEXT PRIMARY KEY,
	expires INTEGER NOT NULL
);
CREATE INDEX acme_nonces_expires ON acme_nonces (expires);
