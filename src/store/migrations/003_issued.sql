-- What the built-in CAs issued: which CA, the serial (unique per CA, the
-- key of CRLs and OCSP), the profile, and who asked.
CREATE TABLE issued (
	cert_id INTEGER PRIMARY KEY REFERENCES certificates(id),
	ca_id INTEGER NOT NULL REFERENCES cas(id),
	serial TEXT NOT NULL,
	profile TEXT NOT NULL,
	requested_by TEXT NOT NULL,
	issued_at INTEGER NOT NULL,
	UNIQUE (ca_id, serial)
);
