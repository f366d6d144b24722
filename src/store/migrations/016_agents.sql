-- The agent (issue 7): hosts the server cannot write to run `certkeep
-- agent`, which enrols once with a one-time token and then authenticates
-- by an mTLS client certificate of the built-in CA.
--
-- agent_tokens: one-time enrolment tokens; only the SHA-256 of a token is
-- kept. used is when it was spent (0: not yet); a token is good once and
-- only before expires.
CREATE TABLE agent_tokens (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	host TEXT NOT NULL,
	hash BLOB NOT NULL UNIQUE,
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL,
	used INTEGER NOT NULL DEFAULT 0,
	actor TEXT NOT NULL
);
-- agents: one row per host. sha256 is the hex SHA-256 of the client
-- certificate the agent must present; prev_sha256 the one it renewed
-- from, still accepted until the agent is seen with the new one (a crash
-- between the server issuing and the agent saving must not lock it out).
CREATE TABLE agents (
	host TEXT PRIMARY KEY,
	serial TEXT NOT NULL DEFAULT '',
	sha256 TEXT NOT NULL DEFAULT '',
	prev_sha256 TEXT NOT NULL DEFAULT '',
	not_after INTEGER NOT NULL DEFAULT 0,
	state TEXT NOT NULL DEFAULT 'active',  -- active, removed
	enrolled INTEGER NOT NULL,
	last_seen INTEGER NOT NULL DEFAULT 0,
	version TEXT NOT NULL DEFAULT ''
);
-- Managed certificates held by an agent: their keys are made on the
-- agent's host and their targets run there; the server's renewer leaves
-- them alone.
CREATE TABLE agent_assign (
	managed TEXT PRIMARY KEY,  -- managed.name
	host TEXT NOT NULL,
	created INTEGER NOT NULL
);
CREATE INDEX agent_assign_host ON agent_assign(host, managed);
