/*
 * The SQL of the statements the store prepares once and reuses. Plain SQL
 * with $n parameters, which SQLite and PostgreSQL both accept, so that the
 * PostgreSQL backend shares this table.
 */
#include "store/store_int.h"

const char *const ck_store_sql[S_MAX] = {
    [S_CERT_INSERT] =
        "INSERT INTO certificates (sha256, sha1, der, version, serial, "
        "subject, issuer, cn, sans, not_before, not_after, key_type, "
        "key_bits, curve, sig_alg, is_ca, path_len, ski, aki, "
        "self_issued, issuer_id, first_seen, last_seen, issuer_hash, "
        "sha_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
        "$12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22, $23, "
        "$24) RETURNING id",
    [S_CERT_BY_SHA] =
        "SELECT id FROM certificates WHERE sha_key = $1 AND sha256 = $2",
    [S_CERT_SEEN] = "UPDATE certificates SET last_seen = $1 WHERE id = $2 "
                    "AND last_seen < $1",
    [S_NAME_INSERT] = "INSERT INTO names (name_rev, cert_id, kind) "
                      "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    [S_LOC_UPSERT] = "INSERT INTO locations (cert_id, place_id, first_seen, "
                     "last_seen, present) VALUES ($1, $2, $3, $3, 1) "
                     "ON CONFLICT (cert_id, place_id) DO UPDATE SET "
                     "last_seen = excluded.last_seen, present = 1",
    [S_PLACE_INSERT] = "INSERT INTO places (kind, place) VALUES ($1, $2) "
                       "ON CONFLICT (kind, place) DO NOTHING",
    [S_PLACE_ID] = "SELECT id FROM places WHERE kind = $1 AND place = $2",
    [S_ISSUER_BY_SKI] =
        "SELECT id FROM certificates WHERE is_ca = 1 AND ski = $1 "
        "AND subject = $2 ORDER BY id LIMIT 1",
    [S_ISSUER_BY_SUBJECT] =
        "SELECT id FROM certificates WHERE is_ca = 1 AND subject = $1 "
        "ORDER BY id LIMIT 1",
    [S_LINK_ORPHANS] =
        "UPDATE certificates SET issuer_id = $1, link_state = 0 "
        "WHERE issuer = $2 AND issuer_id IS NULL AND id <> $1 "
        "AND self_issued = 0 AND (aki = $3 OR aki IS NULL OR $3 IS NULL) "
        "AND issuer_hash = $4",
    [S_COUNT_UPSERT] =
        "INSERT INTO cert_counts (dim, key, n) VALUES ($1, $2, $3) "
        "ON CONFLICT (dim, key) DO UPDATE SET n = cert_counts.n + "
        "excluded.n",
    [S_EVENT_LAST] = "SELECT id, hash FROM events ORDER BY id DESC LIMIT 1",
    [S_EVENT_INSERT] =
        "INSERT INTO events (id, at, actor, action, object, detail, "
        "prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    [S_CERT_GET] = "SELECT " CERT_COLUMNS " FROM certificates WHERE id = $1",
    [S_LINK_SET] = "UPDATE certificates SET link_state = $1, issuer_id = "
                   "$2 WHERE id = $3",
    /* cas.c */
    [S_CA_ADD] =
        "INSERT INTO cas (name, cert_id, parent_id, key_type, key_sealed, "
        "created_at, state) VALUES ($1, $2, $3, $4, $5, $6, 'active') "
        "ON CONFLICT (name) DO NOTHING RETURNING id",
    [S_CA_BY_NAME] = "SELECT " CA_COLUMNS " FROM cas WHERE name = $1",
    [S_CA_ALL] = "SELECT " CA_COLUMNS " FROM cas ORDER BY name",
    [S_CA_NAME] = "SELECT name FROM cas WHERE id = $1",
    [S_SERIAL_TAKEN] = "SELECT 1 FROM issued WHERE ca_id = $1 AND serial = $2",
    [S_ISSUED_ADD] = "INSERT INTO issued (cert_id, ca_id, serial, profile, "
                     "requested_by, issued_at) VALUES ($1, $2, $3, $4, $5, "
                     "$6)",
    /* revocation.c */
    [S_REVOKE] = "UPDATE certificates SET revoked_at = $1, "
                 "revocation_reason = $2 WHERE id = $3 AND revoked_at IS "
                 "NULL",
    [S_ISSUED_BY] = "SELECT ca_id, serial FROM issued WHERE cert_id = $1",
    [S_REVOKED_LIST] =
        "SELECT i.serial, c.revoked_at, c.revocation_reason FROM issued i "
        "JOIN certificates c ON c.id = i.cert_id WHERE i.ca_id = $1 AND "
        "c.revoked_at IS NOT NULL AND c.not_after >= $2 ORDER BY "
        "c.revoked_at, i.serial",
    [S_CRL_LATEST] = "SELECT number, next_update, der FROM crls WHERE "
                     "ca_id = $1 ORDER BY number DESC LIMIT 1",
    [S_CRL_ADD] = "INSERT INTO crls (ca_id, number, this_update, "
                  "next_update, der) VALUES ($1, $2, $3, $4, $5)",
    [S_SERIAL_STATUS] =
        "SELECT c.revoked_at, c.revocation_reason FROM issued i JOIN "
        "certificates c ON c.id = i.cert_id WHERE i.ca_id = $1 AND "
        "i.serial = $2",
    [S_RESPONDER_GET] =
        "SELECT c.der, o.key_sealed, o.not_after FROM ocsp_responders o "
        "JOIN certificates c ON c.id = o.cert_id WHERE o.ca_id = $1",
    [S_RESPONDER_SET] =
        "INSERT INTO ocsp_responders (ca_id, cert_id, key_sealed, "
        "not_after) VALUES ($1, $2, $3, $4) ON CONFLICT (ca_id) DO UPDATE "
        "SET cert_id = excluded.cert_id, key_sealed = excluded.key_sealed, "
        "not_after = excluded.not_after",
    [S_OCSP_CACHE_GET] = "SELECT this_update, der FROM ocsp_cache WHERE "
                         "ca_id = $1 AND hash_alg = $2 AND serial = $3",
    [S_OCSP_CACHE_PUT] =
        "INSERT INTO ocsp_cache (ca_id, hash_alg, serial, this_update, "
        "der) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ca_id, hash_alg, "
        "serial) DO UPDATE SET this_update = excluded.this_update, der = "
        "excluded.der",
    [S_OCSP_CACHE_DROP] =
        "DELETE FROM ocsp_cache WHERE ca_id = $1 AND serial = $2",
    /* tokens.c */
    [S_TOKEN_ADD] = "INSERT INTO tokens (name, role, pattern, hash, "
                    "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, "
                    "$6) RETURNING id",
    [S_TOKEN_IS_REVOKED] =
        "SELECT revoked_at IS NOT NULL FROM tokens WHERE id = $1",
    [S_TOKEN_REVOKE] = "UPDATE tokens SET revoked_at = $1 WHERE id = $2 "
                       "AND revoked_at IS NULL",
    [S_TOKEN_FIND_ID] = "SELECT id FROM tokens WHERE id = $1",
    [S_TOKEN_FIND_NAME] =
        "SELECT id FROM tokens WHERE name = $1 ORDER BY revoked_at IS NULL "
        "DESC, id DESC LIMIT 1",
    [S_TOKEN_GET] = "SELECT " TOKEN_COLUMNS " FROM tokens WHERE id = $1",
    [S_TOKEN_BY_HASH] = "SELECT " TOKEN_COLUMNS " FROM tokens WHERE hash = $1",
    [S_TOKEN_ALL] = "SELECT " TOKEN_COLUMNS " FROM tokens ORDER BY id",
    [S_TOKEN_LIVE] = "SELECT " TOKEN_COLUMNS " FROM tokens WHERE revoked_at "
                     "IS NULL AND (expires_at = 0 OR expires_at > $1) ORDER "
                     "BY id",
    [S_TOKEN_TOUCH] = "UPDATE tokens SET last_used_at = $1 WHERE id = $2 "
                      "AND (last_used_at IS NULL OR last_used_at < $1)",
    /* events.c */
    [S_EVENTS_RANGE] = "SELECT id, at, actor, action, object, detail FROM "
                       "events WHERE at >= $1 AND at < $2 ORDER BY id LIMIT "
                       "$3",
    [S_EVENTS_ALL] = "SELECT id, at, actor, action, object, detail, "
                     "prev_hash, hash FROM events ORDER BY id",
    /* stats.c */
    [S_STATS_DAYS] = "SELECT CAST(key AS INTEGER), n FROM cert_counts WHERE "
                     "dim = 'day' AND n > 0",
    [S_STATS_RANGE] = "SELECT COUNT(*) FROM certificates WHERE not_after >= "
                      "$1 AND not_after < $2",
    [S_STATS_DIM] = "SELECT key, n FROM cert_counts WHERE dim = $1 AND n > "
                    "0 ORDER BY n DESC, key",
    /* query.c: a SHA-256 prefix, with and without an upper bound. The index
     * is on the first 8 bytes (sha_key); the blob bounds make the match
     * exact for longer prefixes. */
    [S_FIND_SHA] = "SELECT id FROM certificates WHERE sha_key >= $1 AND "
                   "sha_key <= $2 AND sha256 >= $3 AND sha256 < $4 LIMIT 2",
    [S_FIND_SHA_OPEN] = "SELECT id FROM certificates WHERE sha_key >= $1 AND "
                        "sha256 >= $2 LIMIT 2",
    [S_LOCATIONS] =
        "SELECT p.kind, p.place, l.first_seen, l.last_seen, l.present FROM "
        "locations l JOIN places p ON p.id = l.place_id WHERE l.cert_id = "
        "$1 ORDER BY p.kind, p.place",
    /* scans.c: one row per endpoint of a scan */
    [S_SCAN_RESULT] = "INSERT OR REPLACE INTO scan_results(scan_id, place, "
                      "cert_id, status) VALUES ($1, $2, $3, $4)",
};
