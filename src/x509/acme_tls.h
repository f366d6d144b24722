/*
 * The TLS side of ACME's tls-alpn-01 validation (RFC 8737): a handshake
 * offering only ALPN "acme-tls/1" and the check of the certificate the
 * client under validation presents. Here because OpenSSL stays inside
 * src/x509/ and the TLS parts of src/http/; the socket comes from the
 * caller (src/acme), which resolved and connected it.
 */
#ifndef CK_X509_ACME_TLS_H
#define CK_X509_ACME_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

/*
 * Runs the handshake on the connected socket fd (blocking, each read and
 * write bounded by timeout_ms) with SNI sni, and checks that acme-tls/1
 * was chosen and that the certificate names exactly the identifier
 * (value, a DNS name or an IP address in text) and carries a critical
 * acmeIdentifier extension holding digest, the SHA-256 of the key
 * authorization. 0 when all holds; CK_E_IO when no handshake could be
 * made (the reason says why); CK_E_INVAL when the certificate is wrong.
 * Does not close fd.
 */
int ck_x509_acme_alpn_check(int fd, const char *sni, const char *value,
    bool is_ip, const uint8_t digest[32], int timeout_ms, struct ck_err *err);

/*
 * http-01 after a redirect to https (RFC 8555 8.3): sends req over TLS on
 * the connected socket fd (SNI sni, NULL for none) and reads the answer
 * until the server closes, at most cap - 1 bytes into resp (NUL-ended,
 * *got its length). The certificate is not verified: the key
 * authorization in the answer is the proof, not the TLS identity.
 * Blocking, each read and write bounded by timeout_ms. CK_E_IO when no
 * exchange could be made; CK_E_TOO_LARGE when the answer does not fit.
 * Does not close fd.
 */
int ck_x509_https_get(int fd, const char *sni, const char *req, size_t len,
    char *resp, size_t cap, size_t *got, int timeout_ms, struct ck_err *err);

#endif
