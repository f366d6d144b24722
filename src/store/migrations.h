/*
 * The schema migrations compiled into the binary (generated from
 * src/store/migrations/NNN_name.sql by scripts/embed-sql).
 */
#ifndef CK_STORE_MIGRATIONS_H
#define CK_STORE_MIGRATIONS_H

struct ck_migration {
	int version;
	const char *name;
	const char *sql;
};

/* Ordered by version; ends with a zero entry. */
extern const struct ck_migration ck_migrations[];

#endif
