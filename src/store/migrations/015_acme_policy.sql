-- The ACME server's renewal information (RFC 9773) and policy at the
-- door. acme_renew_early holds the operator's "renew these sooner"
-- (`certkeep acme renew-early`): serial NULL means every certificate the
-- CA issued up to created_at (not those issued after, which would
-- otherwise be told to renew again at once). Orders record the CertID
-- they replace; the index finds "already replaced" in one probe.
CREATE TABLE acme_renew_early (
	id INTEGER PRIMARY KEY,
	ca TEXT NOT NULL,
	serial TEXT,
	at INTEGER NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX acme_renew_early_ca ON acme_renew_early (ca, serial);
CREATE INDEX acme_orders_replaces ON acme_orders (replaces)
    WHERE replaces IS NOT NULL;
-- Policy at the door: an EAB key may limit the names its account gets
-- (comma-separated domain suffixes, '' for no limit); orders per account
-- and per registered domain in the last hour are counted from these rows,
-- in the database so that every node of a cluster sees the same counts.
ALTER TABLE acme_eab_keys ADD COLUMN allow TEXT NOT NULL DEFAULT '';
CREATE INDEX acme_orders_account_created ON acme_orders (account_id, created_at);
CREATE TABLE acme_order_domains (
	domain TEXT NOT NULL,
	order_id INTEGER NOT NULL REFERENCES acme_orders (id),
	created_at INTEGER NOT NULL
);
CREATE INDEX acme_order_domains_domain ON acme_order_domains (domain, created_at);
