-- Discovery scans: who ran what over which scope and when, and what each
-- endpoint answered, so that a scan can be compared with the previous
-- scan of the same scope (new, replaced, gone, expiring).
CREATE TABLE scans (
	id INTEGER PRIMARY KEY,
	kind TEXT NOT NULL,             -- net, files, ssh
	scope TEXT NOT NULL,            -- targets and ports, normalised
	actor TEXT NOT NULL,
	started INTEGER NOT NULL,
	finished INTEGER,               -- NULL while running or when it failed
	counts TEXT                     -- JSON summary
);
CREATE INDEX scans_scope ON scans(kind, scope, id);
CREATE TABLE scan_results (
	scan_id INTEGER NOT NULL REFERENCES scans(id),
	place TEXT NOT NULL,            -- ip:port or ip:port/sni
	cert_id INTEGER REFERENCES certificates(id), -- the leaf; NULL: no TLS
	status TEXT NOT NULL,           -- tls, timeout, tls-failed, ...
	PRIMARY KEY (scan_id, place)
) WITHOUT ROWID;
