-- Deployment targets: where a managed certificate is installed (files,
-- a PKCS#12 bundle, a user's command), one row each. config is the JSON
-- of the target's settings (paths, owner, mode, reload command, verify
-- endpoint). deployed_cert_id is what the target holds now (NULL: never
-- deployed); state and last_result say how the last attempt ended;
-- last_output is the reload's or command's output, bounded.
CREATE TABLE targets (
	id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: alert keys name it
	managed TEXT NOT NULL,           -- managed.name
	kind TEXT NOT NULL,              -- file, pkcs12, command
	config TEXT NOT NULL,
	deployed_cert_id INTEGER REFERENCES certificates(id),
	state TEXT NOT NULL DEFAULT 'new',  -- new, deploying, deployed, failed, rolled_back
	last_result TEXT NOT NULL DEFAULT '',
	last_output TEXT NOT NULL DEFAULT '',
	last_attempt INTEGER NOT NULL DEFAULT 0,
	created INTEGER NOT NULL,
	actor TEXT NOT NULL
);
CREATE INDEX targets_managed ON targets(managed);
