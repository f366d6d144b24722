-- CRLs signed by the built-in CAs, numbered per CA (the CRL number
-- extension). The newest is served until shortly before its nextUpdate or
-- until a revocation makes it stale.
CREATE TABLE crls (
	ca_id INTEGER NOT NULL REFERENCES cas(id),
	number INTEGER NOT NULL,
	this_update INTEGER NOT NULL,
	next_update INTEGER NOT NULL,
	der BLOB NOT NULL,
	PRIMARY KEY (ca_id, number)
);
