-- The certificate inventory: one row per distinct certificate (keyed by the
-- SHA-256 of its DER), its names for lookups, where it was seen, the audit
-- log, and running counts for stats.
CREATE TABLE certificates (
	id INTEGER PRIMARY KEY,
	sha256 BLOB NOT NULL,           -- unique: checked through sha_key
	sha_key INTEGER NOT NULL,       -- first 8 bytes of sha256, sign bit flipped
	sha1 BLOB NOT NULL,
	der BLOB NOT NULL,
	version INTEGER NOT NULL,
	serial TEXT NOT NULL,
	subject TEXT NOT NULL,
	issuer TEXT NOT NULL,
	issuer_hash INTEGER NOT NULL,   -- 64-bit FNV-1a of issuer: a small index key
	cn TEXT,
	sans TEXT NOT NULL,             -- one per line, "DNS:name", "IP:addr", ...
	not_before INTEGER NOT NULL,
	not_after INTEGER NOT NULL,
	key_type TEXT NOT NULL,
	key_bits INTEGER NOT NULL,
	curve TEXT,
	sig_alg TEXT NOT NULL,
	is_ca INTEGER NOT NULL,
	path_len INTEGER,
	ski TEXT,
	aki TEXT,
	self_issued INTEGER NOT NULL,
	issuer_id INTEGER REFERENCES certificates(id),
	link_state INTEGER NOT NULL DEFAULT 0, -- 0 by name and key id, 1 signature checked, -1 signature bad
	revoked_at INTEGER,
	revocation_reason TEXT,
	first_seen INTEGER NOT NULL,
	last_seen INTEGER NOT NULL
);
-- An 8-byte key instead of the 32-byte hash keeps this random-order index
-- a quarter of the size, which is what bulk imports pay for in page writes.
CREATE INDEX certificates_sha ON certificates(sha_key);
CREATE INDEX certificates_not_after ON certificates(not_after);
CREATE INDEX certificates_issuer ON certificates(issuer_hash);
CREATE INDEX certificates_key ON certificates(key_type, key_bits);
CREATE INDEX certificates_ca_ski ON certificates(ski) WHERE is_ca = 1;
CREATE INDEX certificates_ca_subject ON certificates(subject) WHERE is_ca = 1;

-- Names reversed label by label at the character level ("moc.elpmaxe.www"),
-- so that "*.example.com" is a range scan on a prefix.
CREATE TABLE names (
	name_rev TEXT NOT NULL,
	cert_id INTEGER NOT NULL REFERENCES certificates(id),
	kind TEXT NOT NULL,
	PRIMARY KEY (name_rev, cert_id)
) WITHOUT ROWID;

-- Places (a file path, an endpoint ip:port/sni, a host) are stored once;
-- locations tie certificates to places with small integer keys, so that a
-- million certificates from a thousand files cost a thousand place rows.
CREATE TABLE places (
	id INTEGER PRIMARY KEY,
	kind TEXT NOT NULL,             -- file, stdin, endpoint, ssh, agent
	place TEXT NOT NULL,            -- path, ip:port/sni, host:path
	UNIQUE (kind, place)
);

CREATE TABLE locations (
	cert_id INTEGER NOT NULL REFERENCES certificates(id),
	place_id INTEGER NOT NULL REFERENCES places(id),
	first_seen INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	present INTEGER NOT NULL DEFAULT 1,
	PRIMARY KEY (cert_id, place_id)
) WITHOUT ROWID;
CREATE INDEX locations_place ON locations(place_id);

-- Append-only audit log; each row carries the hash of the one before.
CREATE TABLE events (
	id INTEGER PRIMARY KEY,
	at INTEGER NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	object TEXT NOT NULL,
	detail TEXT NOT NULL,
	prev_hash BLOB NOT NULL,
	hash BLOB NOT NULL
);
CREATE INDEX events_at ON events(at);

-- Counts kept with every insert so that stats never scan the inventory.
-- dim: issuer, key, sig, day (not_after / 86400).
CREATE TABLE cert_counts (
	dim TEXT NOT NULL,
	key TEXT NOT NULL,
	n INTEGER NOT NULL,
	PRIMARY KEY (dim, key)
);
