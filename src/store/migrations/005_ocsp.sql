-- The delegated OCSP responder of each built-in CA: a certificate with
-- id-kp-OCSPSigning and id-pkix-ocsp-nocheck that the CA issues to
-- certkeep itself, renewed before it expires; its key sealed like a CA key.
CREATE TABLE ocsp_responders (
	ca_id INTEGER PRIMARY KEY REFERENCES cas(id),
	cert_id INTEGER NOT NULL REFERENCES certificates(id),
	key_sealed BLOB NOT NULL,
	not_after INTEGER NOT NULL
);
