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
};
