/*
 * The store's tables for the ACME server (migration 014): accounts, EAB
 * keys, orders, authorizations, challenges and nonces. Part of the
 * store's one interface, in its own header because only src/acme and its
 * command use it. Writes happen inside a transaction. Rows are copied
 * into the caller's structs: fixed fields are bounded arrays, the few
 * unbounded ones are owned strings freed by the row's _release.
 */
#ifndef CK_STORE_ACME_H
#define CK_STORE_ACME_H

#include "base/buf.h"
#include "store/store.h"

#define CK_ACME_STATUS_MAX 16

struct ck_acme_account {
	int64_t id;
	char ca[128];
	char thumbprint[48];
	char status[CK_ACME_STATUS_MAX];
	char eab_kid[64]; /* "" for none */
	char *jwk; /* owned: canonical JWK JSON */
	char *contact; /* owned: JSON array of URIs */
	int64_t created_at;
};
void ck_acme_account_release(struct ck_acme_account *a);

/* Adds an account; *id gets its row. CK_E_EXISTS when the key has one
 * on this CA already. */
int ck_store_acme_account_add(struct ck_store *st, const char *ca,
    const char *thumbprint, const char *jwk, const char *contact,
    const char *eab_kid, int64_t now, int64_t *id, struct ck_err *err);
/* The account of a key on ca, or CK_E_NOTFOUND. a is the caller's to
 * release on success. */
int ck_store_acme_account_by_key(struct ck_store *st, const char *ca,
    const char *thumbprint, struct ck_acme_account *a, struct ck_err *err);
int ck_store_acme_account_get(struct ck_store *st, int64_t id,
    struct ck_acme_account *a, struct ck_err *err);
/* Sets status and/or contact (NULL: unchanged). */
int ck_store_acme_account_update(struct ck_store *st, int64_t id,
    const char *status, const char *contact, struct ck_err *err);

/* Replaces an account's key (keyChange); CK_E_EXISTS when another
 * account of the CA has that key already. */
int ck_store_acme_account_rekey(struct ck_store *st, int64_t id,
    const char *thumbprint, const char *jwk, struct ck_err *err);

/* ---- EAB keys ---- */
int ck_store_acme_eab_add(struct ck_store *st, const char *kid, const char *ca,
    const uint8_t *sealed, size_t len, int64_t now, struct ck_err *err);
/* The sealed key of kid on ca into sealed; *account_id the account bound
 * to it (0: none). CK_E_NOTFOUND when there is no such kid for ca. */
int ck_store_acme_eab_get(struct ck_store *st, const char *kid, const char *ca,
    struct ck_buf *sealed, int64_t *account_id, struct ck_err *err);
/* Sets the names an EAB key's account may get: comma-separated domain
 * suffixes, "" for no limit (migration 015). */
int ck_store_acme_eab_allow_set(struct ck_store *st, const char *kid,
    const char *allow, struct ck_err *err);
/* The allow list of kid into out ("" when none). */
int ck_store_acme_eab_allow_get(struct ck_store *st, const char *kid,
    struct ck_buf *out, struct ck_err *err);
/* Binds kid to an account; CK_E_EXISTS when it is bound already. */
int ck_store_acme_eab_bind(struct ck_store *st, const char *kid,
    int64_t account_id, struct ck_err *err);

/* ---- orders ---- */
struct ck_acme_order {
	int64_t id, account_id;
	char status[CK_ACME_STATUS_MAX];
	char *identifiers; /* owned: JSON array */
	char *error; /* owned: problem JSON, or NULL */
	char *replaces; /* owned, or NULL */
	char *profile; /* owned, or NULL (the server's default) */
	int64_t expires, not_before, not_after;
	int64_t cert_id; /* 0: none yet */
};
void ck_acme_order_release(struct ck_acme_order *o);

int ck_store_acme_order_add(struct ck_store *st, const struct ck_acme_order *o,
    int64_t now, int64_t *id, struct ck_err *err);
int ck_store_acme_order_get(struct ck_store *st, int64_t id,
    struct ck_acme_order *o, struct ck_err *err);
/* Sets status; cert_id when not 0; error when not NULL. */
int ck_store_acme_order_set(struct ck_store *st, int64_t id, const char *status,
    int64_t cert_id, const char *error, struct ck_err *err);
/* Up to limit order ids of an account above after_id, oldest first,
 * into ids; *n gets how many. */
int ck_store_acme_order_ids(struct ck_store *st, int64_t account_id,
    int64_t after_id, size_t limit, int64_t *ids, size_t *n,
    struct ck_err *err);
/* The account whose order got certificate cert_id (CK_E_NOTFOUND: none). */
int ck_store_acme_cert_account(struct ck_store *st, int64_t cert_id,
    int64_t *account_id, struct ck_err *err);

/* ---- renewal information (RFC 9773; migration 015) ---- */
struct ck_acme_issued {
	int64_t cert_id;
	int64_t not_before, not_after;
	int64_t issued_at;
	int64_t revoked_at; /* 0: not revoked */
	int64_t account_id; /* the ACME account that ordered it, 0: none */
	char aki[132]; /* hex, "" for none */
};
/* The certificate the built-in CA ca issued with serial (lower-case hex
 * as the inventory writes it). CK_E_NOTFOUND when there is none. */
int ck_store_acme_issued_get(struct ck_store *st, const char *ca,
    const char *serial, struct ck_acme_issued *out, struct ck_err *err);
/* Records that ca's certificate serial (NULL: every certificate ca
 * issued up to now) should be renewed by at. */
int ck_store_acme_renew_early_add(struct ck_store *st, const char *ca,
    const char *serial, int64_t at, int64_t now, struct ck_err *err);
/* The earliest renew-early time that applies to ca's certificate serial
 * issued at issued_at; CK_E_NOTFOUND when none does. */
int ck_store_acme_renew_early_get(struct ck_store *st, const char *ca,
    const char *serial, int64_t issued_at, int64_t *at, struct ck_err *err);
/* Whether an order that is not invalid already names certid in
 * replaces. */
int ck_store_acme_replaced(struct ck_store *st, const char *certid,
    bool *replaced, struct ck_err *err);

/* ---- rate limits (migration 015) ---- */
/* Orders of an account created at or after since: *count, and the
 * oldest one's time in *oldest (0 when none). */
int ck_store_acme_orders_since(struct ck_store *st, int64_t account_id,
    int64_t since, int64_t *count, int64_t *oldest, struct ck_err *err);
/* The same for orders that named a registered domain. */
int ck_store_acme_domain_orders_since(struct ck_store *st, const char *domain,
    int64_t since, int64_t *count, int64_t *oldest, struct ck_err *err);
/* Records that order_id names a name under registered domain. */
int ck_store_acme_order_domain_add(struct ck_store *st, int64_t order_id,
    const char *domain, int64_t now, struct ck_err *err);

/* ---- authorizations ---- */
struct ck_acme_authz {
	int64_t id, order_id, account_id;
	char type[8]; /* dns, ip */
	char value[256];
	bool wildcard;
	char status[CK_ACME_STATUS_MAX];
	int64_t expires;
};
typedef int (*ck_acme_authz_cb)(void *ctx, const struct ck_acme_authz *a);

int ck_store_acme_authz_add(struct ck_store *st, const struct ck_acme_authz *a,
    int64_t *id, struct ck_err *err);
int ck_store_acme_authz_get(struct ck_store *st, int64_t id,
    struct ck_acme_authz *a, struct ck_err *err);
/* The authorizations of an order, in the order they were added. */
int ck_store_acme_authz_list(struct ck_store *st, int64_t order_id,
    ck_acme_authz_cb cb, void *ctx, struct ck_err *err);
int ck_store_acme_authz_set(
    struct ck_store *st, int64_t id, const char *status, struct ck_err *err);

/* ---- challenges ---- */
struct ck_acme_chall {
	int64_t id, authz_id;
	char type[16]; /* http-01, dns-01, tls-alpn-01 */
	char token[64];
	char status[CK_ACME_STATUS_MAX];
	int64_t validated;
	char error[1024]; /* problem JSON, "" for none */
};
typedef int (*ck_acme_chall_cb)(void *ctx, const struct ck_acme_chall *c);

int ck_store_acme_chall_add(struct ck_store *st, int64_t authz_id,
    const char *type, const char *token, int64_t *id, struct ck_err *err);
int ck_store_acme_chall_get(struct ck_store *st, int64_t id,
    struct ck_acme_chall *c, struct ck_err *err);
int ck_store_acme_chall_list(struct ck_store *st, int64_t authz_id,
    ck_acme_chall_cb cb, void *ctx, struct ck_err *err);
/* Moves a pending challenge to processing; CK_E_EXISTS when it was not
 * pending (another request started it first). */
int ck_store_acme_chall_start(
    struct ck_store *st, int64_t id, struct ck_err *err);
/* Sets status, validated (0: unchanged) and error (NULL: unchanged). */
int ck_store_acme_chall_set(struct ck_store *st, int64_t id, const char *status,
    int64_t validated, const char *error, struct ck_err *err);

/* ---- nonces ---- */
/* Records a fresh nonce (and now and then drops expired ones). */
int ck_store_acme_nonce_add(struct ck_store *st, const char *nonce,
    int64_t expires, int64_t now, struct ck_err *err);
/* Uses a nonce up: 0 when it was there and not expired (it is gone
 * now), CK_E_NOTFOUND when not. */
int ck_store_acme_nonce_take(
    struct ck_store *st, const char *nonce, int64_t now, struct ck_err *err);

#endif
