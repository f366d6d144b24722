-- Saved scans the daemon runs on their schedule: what to scan, how often,
-- when next. last_scan is the newest scans row they made.
CREATE TABLE scan_defs (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	targets TEXT NOT NULL,          -- space-separated target specs
	ports TEXT NOT NULL,            -- "443,8443" or "" for the defaults
	sni TEXT NOT NULL,              -- comma-separated names, or ""
	every INTEGER NOT NULL,         -- seconds between runs
	next_run INTEGER NOT NULL,
	last_scan INTEGER REFERENCES scans(id),
	created INTEGER NOT NULL,
	actor TEXT NOT NULL
);
CREATE INDEX scan_defs_due ON scan_defs(next_run);
