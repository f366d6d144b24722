-- API bearer tokens. Only the SHA-256 of a token is kept (the token is
-- shown once, when it is made); requests find their token by that hash.
-- A name is unique among tokens not revoked; revoked rows stay, so the
-- audit log's references keep their meaning. Times are epoch seconds;
-- expires_at 0 is never.
CREATE TABLE tokens (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	role TEXT NOT NULL
	    CHECK (role IN ('admin', 'operator', 'enroller', 'auditor')),
	pattern TEXT,
	hash BLOB NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL DEFAULT 0,
	revoked_at INTEGER,
	last_used_at INTEGER
);
CREATE UNIQUE INDEX tokens_live_name ON tokens (name)
    WHERE revoked_at IS NULL;
