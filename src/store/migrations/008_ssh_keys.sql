-- SSH public keys and OpenSSH certificates found by the SSH scanner. One
-- row per distinct key blob, keyed by the SHA-256 of the blob: for a plain
-- key that is its SHA256 fingerprint; two certificates of one key are two
-- rows. fingerprint is what ssh-keygen -l prints (for a certificate, of
-- the certified key), indexed to find every certificate of a key.
-- valid_before NULL is forever; valid_after 0 is always.
CREATE TABLE ssh_keys (
	id INTEGER PRIMARY KEY,
	sha256 BLOB NOT NULL UNIQUE,
	fingerprint TEXT NOT NULL,
	key_type TEXT NOT NULL,         -- the blob's type name
	algorithm TEXT NOT NULL,        -- RSA, ECDSA, ED25519, ... -CERT
	bits INTEGER NOT NULL,
	comment TEXT,                   -- as last seen
	cert_type TEXT,                 -- user, host; NULL for a plain key
	key_id TEXT,
	serial TEXT,                    -- decimal: SSH serials are 64-bit unsigned
	principals TEXT,                -- one per line
	valid_after INTEGER,
	valid_before INTEGER,
	ca_fingerprint TEXT,
	first_seen INTEGER NOT NULL,
	last_seen INTEGER NOT NULL
);
CREATE INDEX ssh_keys_fingerprint ON ssh_keys(fingerprint);

-- Where each was seen: places of kind 'ssh' (shared with certificates'
-- locations), first and last seen.
CREATE TABLE ssh_key_locations (
	key_id INTEGER NOT NULL REFERENCES ssh_keys(id),
	place_id INTEGER NOT NULL REFERENCES places(id),
	first_seen INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	present INTEGER NOT NULL DEFAULT 1,
	PRIMARY KEY (key_id, place_id)
) WITHOUT ROWID;
