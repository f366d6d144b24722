-- The built-in CAs: each has its certificate in the inventory and its
-- private key sealed (AES-256-GCM under the master key, which is kept
-- apart from the database; the CA name is the associated data, so a key
-- cannot be moved to another CA's row).
CREATE TABLE cas (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	cert_id INTEGER NOT NULL REFERENCES certificates(id),
	parent_id INTEGER REFERENCES cas(id),
	key_type TEXT NOT NULL,         -- ec-p256, ec-p384, rsa-3072, rsa-4096, ed25519
	key_sealed BLOB NOT NULL,       -- nonce (12) || ciphertext || tag (16)
	created_at INTEGER NOT NULL,
	state TEXT NOT NULL DEFAULT 'active'
);
