-- Signed OCSP responses kept for requests without a nonce (RFC 5019): the
-- key is the CA, the CertID hash algorithm and the serial. A revocation
-- deletes the serial's rows; a row is re-signed when half its life is gone.
CREATE TABLE ocsp_cache (
	ca_id INTEGER NOT NULL REFERENCES cas(id),
	hash_alg TEXT NOT NULL,
	serial TEXT NOT NULL,
	this_update INTEGER NOT NULL,
	der BLOB NOT NULL,
	PRIMARY KEY (ca_id, hash_alg, serial)
);
