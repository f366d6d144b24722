/*
 * STARTTLS dialogues before a TLS handshake: SMTP (EHLO, STARTTLS), IMAP
 * (STARTTLS), POP3 (STLS), FTP (AUTH TLS), LDAP (the StartTLS extended
 * operation) and PostgreSQL (SSLRequest). Pure byte state machines with no
 * I/O, so the asynchronous scanner drives them from its event loop and the
 * fuzz harness from memory: feed what the server sent, send what comes
 * out, until READY (start the TLS handshake on the same socket now),
 * REFUSED or ERROR.
 */
#ifndef CK_DISCOVERY_STARTTLS_H
#define CK_DISCOVERY_STARTTLS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

enum ck_starttls_proto {
	CK_STARTTLS_NONE, /* direct TLS */
	CK_STARTTLS_SMTP,
	CK_STARTTLS_IMAP,
	CK_STARTTLS_POP3,
	CK_STARTTLS_FTP,
	CK_STARTTLS_LDAP,
	CK_STARTTLS_POSTGRES,
};

enum ck_starttls_step {
	CK_STARTTLS_MORE, /* send out (if any), then wait for more input */
	CK_STARTTLS_READY, /* send out (if any), then start TLS */
	CK_STARTTLS_REFUSED, /* the server said no (reason in err) */
	CK_STARTTLS_ERROR, /* not the protocol, or too long (reason in err) */
};

/* Longest line or message kept while waiting for its end. */
#define CK_STARTTLS_MAX_LINE 4096

/* Embedded by the caller (no allocation); opaque fields. */
struct ck_starttls {
	enum ck_starttls_proto proto;
	int state;
	size_t have; /* bytes in buf */
	uint8_t buf[CK_STARTTLS_MAX_LINE];
};

/* "smtp", "imap", "pop3", "ftp", "ldap", "postgres" (and "none"). */
int ck_starttls_parse(const char *name, enum ck_starttls_proto *out);
const char *ck_starttls_name(enum ck_starttls_proto p);
/* The protocol usually spoken on port: 25 and 587 SMTP, 143 IMAP, 110
 * POP3, 21 FTP, 389 LDAP, 5432 PostgreSQL; NONE otherwise. */
enum ck_starttls_proto ck_starttls_for_port(int port);

void ck_starttls_init(struct ck_starttls *s, enum ck_starttls_proto p);

/*
 * One step. in/len: bytes the server sent since the last call (len 0 on
 * the first call, when protocols where the client speaks first put their
 * opening bytes in out). Appends to out what to send. Never reads past
 * in[len-1]; bytes after the server's go-ahead are an ERROR (a server
 * must not send them before the handshake).
 */
enum ck_starttls_step ck_starttls_next(struct ck_starttls *s, const uint8_t *in,
    size_t len, struct ck_buf *out, struct ck_err *err);

#endif
