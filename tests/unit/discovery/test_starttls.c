/*
 * Unit tests for the STARTTLS dialogues (src/discovery/starttls.c): each
 * protocol against scripted server transcripts (go-ahead, refusal,
 * garbage, over-long lines, bytes after the go-ahead), each transcript fed
 * whole, split at every byte boundary, byte by byte and in random pieces,
 * which must all end the same way with the same bytes sent.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "discovery/starttls.h"

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

struct script {
	const char *what;
	enum ck_starttls_proto proto;
	const uint8_t *srv; /* what the server sends, all of it */
	size_t n;
	enum ck_starttls_step want;
	int code; /* err code wanted (0 for READY) */
	const char *err_has; /* in the reason, or NULL */
	const char *sent; /* what the client must have sent */
};

static const char *const step_names[] = {"MORE", "READY", "REFUSED", "ERROR"};

/*
 * Runs one dialogue: the first call with no input, then the server's bytes
 * in pieces whose sizes come from cut() (called with the offset and the
 * bytes left). Feeding goes on after READY, as a careless caller would,
 * so bytes after the go-ahead surface whatever the split.
 */
static enum ck_starttls_step
run(const struct script *sc, size_t (*cut)(size_t off, size_t left, void *),
    void *arg, struct ck_buf *out, struct ck_err *err)
{
	struct ck_starttls s;
	enum ck_starttls_step step;
	size_t off = 0;

	ck_starttls_init(&s, sc->proto);
	step = ck_starttls_next(&s, NULL, 0, out, err);
	while (off < sc->n &&
	    (step == CK_STARTTLS_MORE || step == CK_STARTTLS_READY)) {
		size_t k = cut(off, sc->n - off, arg);

		cr_assert(k > 0 && k <= sc->n - off);
		step = ck_starttls_next(&s, sc->srv + off, k, out, err);
		off += k;
	}
	return step;
}

static size_t
cut_whole(size_t off, size_t left, void *arg)
{
	(void)off;
	(void)arg;
	return left;
}

static size_t
cut_bytes(size_t off, size_t left, void *arg)
{
	(void)off;
	(void)left;
	(void)arg;
	return 1;
}

/* Two pieces, the first of *(size_t *)arg bytes. */
static size_t
cut_at(size_t off, size_t left, void *arg)
{
	size_t at = *(size_t *)arg;

	return off < at ? at - off : left;
}

static size_t
cut_random(size_t off, size_t left, void *arg)
{
	(void)off;
	(void)arg;
	return 1 + (size_t)rand() % left;
}

static void
check_one(const struct script *sc, const char *how,
    size_t (*cut)(size_t, size_t, void *), void *arg)
{
	struct ck_buf out = CK_BUF_INIT;
	struct ck_err err = {0};
	enum ck_starttls_step step = run(sc, cut, arg, &out, &err);

	cr_assert_eq(step, sc->want, "%s (%s): got %s (%s), want %s", sc->what,
	    how, step_names[step], err.msg, step_names[sc->want]);
	if (sc->want != CK_STARTTLS_READY) {
		cr_assert_eq(err.code, sc->code, "%s (%s): err code %d (%s)",
		    sc->what, how, err.code, err.msg);
		if (sc->err_has != NULL)
			cr_assert(strstr(err.msg, sc->err_has) != NULL,
			    "%s (%s): reason '%s' lacks '%s'", sc->what, how,
			    err.msg, sc->err_has);
	}
	if (sc->sent != NULL) {
		cr_assert_eq(out.len, strlen(sc->sent), "%s (%s): sent '%s'",
		    sc->what, how, out.p ? out.p : "");
		cr_assert(out.len == 0 || memcmp(out.p, sc->sent, out.len) == 0,
		    "%s (%s): sent '%s'", sc->what, how, out.p);
	}
	ck_buf_release(&out);
}

/* Whole, split at every boundary, byte by byte, and randomly. */
static void
check(const struct script *sc)
{
	char how[64];

	check_one(sc, "whole", cut_whole, NULL);
	check_one(sc, "byte by byte", cut_bytes, NULL);
	for (size_t at = 1; at < sc->n; at++) {
		snprintf(how, sizeof(how), "split at %zu", at);
		check_one(sc, how, cut_at, &at);
	}
	srand(1);
	for (int i = 0; i < 20; i++)
		check_one(sc, "random pieces", cut_random, NULL);
}

static void
check_all(const struct script *scs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check(&scs[i]);
}

#define EHLO "EHLO certkeep.invalid\r\n"
#define OK_READY CK_STARTTLS_READY, 0, NULL
#define REFUSED(why) CK_STARTTLS_REFUSED, CK_E_UNAVAILABLE, why
#define GARBAGE(why) CK_STARTTLS_ERROR, CK_E_PARSE, why

static const struct script smtp[] = {
    {"postfix-like", CK_STARTTLS_SMTP,
        S("220 mx.example.com ESMTP Postfix (Debian/GNU)\r\n"
          "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
          "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n"
          "220 2.0.0 Ready to start TLS\r\n"),
        OK_READY, EHLO "STARTTLS\r\n"},
    {"multi-line greeting, bare LF, STARTTLS last, lower case",
        CK_STARTTLS_SMTP,
        S("220-mx.example.com ESMTP\n220-no UCE\n220\n250-mx\n250 starttls \n"
          "220 go ahead\n"),
        OK_READY, EHLO "STARTTLS\r\n"},
    {"no STARTTLS offered", CK_STARTTLS_SMTP,
        S("220 mx ESMTP\r\n250-mx\r\n250-XSTARTTLS\r\n250-STARTTLSX\r\n"
          "250 8BITMIME STARTTLS\r\n"),
        REFUSED("does not offer STARTTLS"), EHLO},
    {"STARTTLS refused with 454", CK_STARTTLS_SMTP,
        S("220 mx\r\n250-mx\r\n250 STARTTLS\r\n454 4.7.0 TLS not available "
          "due to local problem\r\n"),
        REFUSED("454 4.7.0 TLS not available"), EHLO "STARTTLS\r\n"},
    {"greeting 554", CK_STARTTLS_SMTP,
        S("554-mx no service for you\r\n554 bye\r\n"), REFUSED("554 bye"), ""},
    {"EHLO refused", CK_STARTTLS_SMTP,
        S("220 mx\r\n502 5.5.2 command not recognized\r\n"),
        REFUSED("502 5.5.2"), EHLO},
    {"HTTP server", CK_STARTTLS_SMTP, S("HTTP/1.1 400 Bad Request\r\n\r\n"),
        GARBAGE("unexpected reply: 'HTTP/1.1 400 Bad Request'"), ""},
    {"code changes within a reply", CK_STARTTLS_SMTP,
        S("220 mx\r\n250-mx\r\n251 STARTTLS\r\n"), GARBAGE("from 250 to 251"),
        EHLO},
    {"no space after the code", CK_STARTTLS_SMTP, S("220mx\r\n"),
        GARBAGE("unexpected"), ""},
    {"greeting 250", CK_STARTTLS_SMTP, S("250 mx\r\n"), GARBAGE("unexpected"),
        ""},
    {"STARTTLS answered 250", CK_STARTTLS_SMTP,
        S("220 mx\r\n250 STARTTLS\r\n250 ok\r\n"), GARBAGE("unexpected"),
        EHLO "STARTTLS\r\n"},
    {"bytes after the go-ahead", CK_STARTTLS_SMTP,
        S("220 mx\r\n250 STARTTLS\r\n220 go\r\n250 injected\r\n"),
        GARBAGE("after the go-ahead"), EHLO "STARTTLS\r\n"},
    {"one byte after the go-ahead", CK_STARTTLS_SMTP,
        S("220 mx\r\n250 STARTTLS\r\n220 go\r\n\x16"),
        GARBAGE("after the go-ahead"), EHLO "STARTTLS\r\n"},
};

Test(starttls_smtp, transcripts)
{
	check_all(smtp, sizeof(smtp) / sizeof(smtp[0]));
}

static const struct script imap[] = {
    {"dovecot-like", CK_STARTTLS_IMAP,
        S("* OK [CAPABILITY IMAP4rev1 SASL-IR STARTTLS LOGINDISABLED] Dovecot "
          "ready.\r\na1 OK Begin TLS negotiation now.\r\n"),
        OK_READY, "a1 STARTTLS\r\n"},
    {"untagged lines first, bare LF, lower case", CK_STARTTLS_IMAP,
        S("* ok hello\n* CAPABILITY IMAP4rev1 STARTTLS\n* OK still here\n"
          "a1 ok\n"),
        OK_READY, "a1 STARTTLS\r\n"},
    {"NO", CK_STARTTLS_IMAP, S("* OK hi\r\na1 NO TLS not configured\r\n"),
        REFUSED("a1 NO TLS not configured"), "a1 STARTTLS\r\n"},
    {"BAD", CK_STARTTLS_IMAP, S("* OK hi\r\na1 BAD Unknown command\r\n"),
        REFUSED("a1 BAD"), "a1 STARTTLS\r\n"},
    {"BYE greeting", CK_STARTTLS_IMAP, S("* BYE too many connections\r\n"),
        REFUSED("BYE too many"), ""},
    {"PREAUTH greeting", CK_STARTTLS_IMAP, S("* PREAUTH welcome\r\n"),
        REFUSED("PREAUTH"), ""},
    {"BYE after the command", CK_STARTTLS_IMAP,
        S("* OK hi\r\n* BYE shutting down\r\n"), REFUSED("BYE"),
        "a1 STARTTLS\r\n"},
    {"POP3 server", CK_STARTTLS_IMAP, S("+OK POP3 ready\r\n"),
        GARBAGE("unexpected reply: '+OK POP3 ready'"), ""},
    {"OKAY is not OK", CK_STARTTLS_IMAP, S("* OKAY\r\n"), GARBAGE("unexpected"),
        ""},
    {"another tag", CK_STARTTLS_IMAP, S("* OK hi\r\na2 OK done\r\n"),
        GARBAGE("a2 OK"), "a1 STARTTLS\r\n"},
    {"continuation request", CK_STARTTLS_IMAP, S("* OK hi\r\n+ go on\r\n"),
        GARBAGE("unexpected"), "a1 STARTTLS\r\n"},
    {"bytes after the go-ahead", CK_STARTTLS_IMAP,
        S("* OK hi\r\na1 OK go\r\n* injected\r\n"),
        GARBAGE("after the go-ahead"), "a1 STARTTLS\r\n"},
};

Test(starttls_imap, transcripts)
{
	check_all(imap, sizeof(imap) / sizeof(imap[0]));
}

static const struct script pop3[] = {
    {"dovecot-like", CK_STARTTLS_POP3,
        S("+OK Dovecot ready.\r\n+OK Begin TLS negotiation now.\r\n"), OK_READY,
        "STLS\r\n"},
    {"bare +OK, bare LF", CK_STARTTLS_POP3, S("+OK\n+OK\n"), OK_READY,
        "STLS\r\n"},
    {"-ERR to STLS", CK_STARTTLS_POP3, S("+OK hi\r\n-ERR Unknown command.\r\n"),
        REFUSED("-ERR Unknown"), "STLS\r\n"},
    {"-ERR greeting", CK_STARTTLS_POP3, S("-ERR go away\r\n"),
        REFUSED("go away"), ""},
    {"+OKAY", CK_STARTTLS_POP3, S("+OKAY\r\n"), GARBAGE("unexpected"), ""},
    {"SMTP server", CK_STARTTLS_POP3, S("220 mx ESMTP\r\n"),
        GARBAGE("'220 mx ESMTP'"), ""},
    {"bytes after the go-ahead", CK_STARTTLS_POP3, S("+OK hi\r\n+OK go\r\nX"),
        GARBAGE("1 bytes after the go-ahead"), "STLS\r\n"},
};

Test(starttls_pop3, transcripts)
{
	check_all(pop3, sizeof(pop3) / sizeof(pop3[0]));
}

static const struct script ftp[] = {
    {"vsftpd-like", CK_STARTTLS_FTP,
        S("220 (vsFTPd 3.0.3)\r\n234 Proceed with negotiation.\r\n"), OK_READY,
        "AUTH TLS\r\n"},
    {"multi-line greeting with free text, 120 first", CK_STARTTLS_FTP,
        S("120 ready in 1 minute\r\n220-Welcome\r\n free text\r\n220-more\r\n"
          "221 not the end\r\n220 ready\r\n234 go\r\n"),
        OK_READY, "AUTH TLS\r\n"},
    {"bare LF", CK_STARTTLS_FTP, S("220 hi\n234\n"), OK_READY, "AUTH TLS\r\n"},
    {"AUTH refused with 530", CK_STARTTLS_FTP,
        S("220 hi\r\n530 Please login with USER and PASS.\r\n"),
        REFUSED("530 Please login"), "AUTH TLS\r\n"},
    {"AUTH not known: 500", CK_STARTTLS_FTP,
        S("220 hi\r\n500-Unknown\r\n command\r\n500 AUTH\r\n"),
        REFUSED("500 AUTH"), "AUTH TLS\r\n"},
    {"AUTH answered 334", CK_STARTTLS_FTP, S("220 hi\r\n334 ADAT=\r\n"),
        REFUSED("334"), "AUTH TLS\r\n"},
    {"greeting 421", CK_STARTTLS_FTP, S("421 too many users\r\n"),
        REFUSED("421 too many"), ""},
    {"SSH server", CK_STARTTLS_FTP, S("SSH-2.0-OpenSSH_9.2p1\r\n"),
        GARBAGE("SSH-2.0"), ""},
    {"greeting 230", CK_STARTTLS_FTP, S("230 in\r\n"), GARBAGE("230 in"), ""},
    {"bytes after the go-ahead", CK_STARTTLS_FTP,
        S("220 hi\r\n234 go\r\n200 injected\r\n"),
        GARBAGE("after the go-ahead"), "AUTH TLS\r\n"},
};

Test(starttls_ftp, transcripts)
{
	check_all(ftp, sizeof(ftp) / sizeof(ftp[0]));
}

/* The StartTLS ExtendedRequest as RFC 4511 section 4.12 spells it. */
#define LDAP_REQ                               \
	"\x30\x1d\x02\x01\x01\x77\x18\x80\x16" \
	"1.3.6.1.4.1.1466.20037"
#define LDAP_OID_TLV \
	"\x8a\x16"   \
	"1.3.6.1.4.1.1466.20037"

static const struct script ldap[] = {
    {"minimal success", CK_STARTTLS_LDAP,
        S("\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00"), OK_READY,
        LDAP_REQ},
    {"openldap-like, with responseName", CK_STARTTLS_LDAP,
        S("\x30\x24\x02\x01\x01\x78\x1f\x0a\x01\x00\x04\x00\x04"
          "\x00" LDAP_OID_TLV),
        OK_READY, LDAP_REQ},
    {"long-form lengths", CK_STARTTLS_LDAP,
        S("\x30\x82\x00\x0d\x02\x01\x01\x78\x81\x08\x0a\x01\x00\x04\x00\x04"
          "\x00"),
        GARBAGE("malformed"), LDAP_REQ},
    {"long-form lengths, right", CK_STARTTLS_LDAP,
        S("\x30\x82\x00\x0e\x02\x01\x01\x78\x81\x08\x0a\x01\x00\x04\x00\x04"
          "\x01x"),
        OK_READY, LDAP_REQ},
    {"protocolError", CK_STARTTLS_LDAP,
        S("\x30\x2a\x02\x01\x01\x78\x25\x0a\x01\x02\x04\x00\x04\x1e"
          "unsupported extended operation"),
        REFUSED("protocolError (2): unsupported extended operation"), LDAP_REQ},
    {"unavailable, with responseName", CK_STARTTLS_LDAP,
        S("\x30\x35\x02\x01\x01\x78\x30\x0a\x01\x34\x04\x00\x04\x11"
          "TLS not available" LDAP_OID_TLV),
        REFUSED("unavailable (52): TLS not available"), LDAP_REQ},
    {"notice of disconnection", CK_STARTTLS_LDAP,
        S("\x30\x0c\x02\x01\x00\x78\x07\x0a\x01\x34\x04\x00\x04\x00"),
        REFUSED("disconnects: unavailable (52)"), LDAP_REQ},
    {"another messageID", CK_STARTTLS_LDAP,
        S("\x30\x0c\x02\x01\x02\x78\x07\x0a\x01\x00\x04\x00\x04\x00"),
        GARBAGE("message 2"), LDAP_REQ},
    {"a BindResponse", CK_STARTTLS_LDAP,
        S("\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00"),
        GARBAGE("tag 0x61"), LDAP_REQ},
    {"inner length past the message", CK_STARTTLS_LDAP,
        S("\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x05"),
        GARBAGE("malformed"), LDAP_REQ},
    {"negative resultCode", CK_STARTTLS_LDAP,
        S("\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\xff\x04\x00\x04\x00"),
        GARBAGE("malformed"), LDAP_REQ},
    {"indefinite length", CK_STARTTLS_LDAP, S("\x30\x80\x02\x01\x01"),
        GARBAGE("not an LDAP message"), LDAP_REQ},
    {"4 GB message", CK_STARTTLS_LDAP, S("\x30\x84\xff\xff\xff\xff\x02"),
        CK_STARTTLS_ERROR, CK_E_TOO_LARGE, "at most 4096", LDAP_REQ},
    {"5-byte length", CK_STARTTLS_LDAP, S("\x30\x85\x01\x00\x00\x00\x00"),
        GARBAGE("not an LDAP message"), LDAP_REQ},
    {"a text line", CK_STARTTLS_LDAP, S("220 mx ESMTP\r\n"),
        GARBAGE("not an LDAP message"), LDAP_REQ},
    {"bytes after the go-ahead", CK_STARTTLS_LDAP,
        S("\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00\x16\x03"),
        GARBAGE("bytes after the go-ahead"), LDAP_REQ},
};

Test(starttls_ldap, transcripts)
{
	check_all(ldap, sizeof(ldap) / sizeof(ldap[0]));
}

static const struct script pg[] = {
    {"S", CK_STARTTLS_POSTGRES, S("S"), OK_READY, NULL},
    {"N", CK_STARTTLS_POSTGRES, S("N"), REFUSED("refused SSLRequest"), NULL},
    {"an error message", CK_STARTTLS_POSTGRES,
        S("E\0\0\0\x20SFATAL\0Munsupported\0\0"),
        GARBAGE("0x45 to SSLRequest (an error message)"), NULL},
    {"garbage", CK_STARTTLS_POSTGRES, S("220 mx\r\n"), GARBAGE("0x32"), NULL},
    {"bytes after the go-ahead", CK_STARTTLS_POSTGRES, S("S\x16\x03\x01"),
        GARBAGE("bytes after the go-ahead"), NULL},
};

Test(starttls_postgres, transcripts)
{
	struct ck_buf out = CK_BUF_INIT;
	struct ck_starttls s;

	check_all(pg, sizeof(pg) / sizeof(pg[0]));
	/* The SSLRequest is 8 bytes with a NUL in it: compare by length. */
	ck_starttls_init(&s, CK_STARTTLS_POSTGRES);
	cr_assert_eq(
	    ck_starttls_next(&s, NULL, 0, &out, NULL), CK_STARTTLS_MORE);
	cr_assert_eq(out.len, 8);
	cr_assert(memcmp(out.p, "\0\0\0\x08\x04\xd2\x16\x2f", 8) == 0);
	ck_buf_release(&out);
}

Test(starttls_ldap, request_bytes)
{
	struct ck_buf out = CK_BUF_INIT;
	struct ck_starttls s;

	ck_starttls_init(&s, CK_STARTTLS_LDAP);
	cr_assert_eq(
	    ck_starttls_next(&s, NULL, 0, &out, NULL), CK_STARTTLS_MORE);
	cr_assert_eq(out.len, 31);
	cr_assert(memcmp(out.p, LDAP_REQ, 31) == 0);
	ck_buf_release(&out);
}

/* A line of exactly CK_STARTTLS_MAX_LINE bytes (CR included) is taken,
 * one byte more is refused before anything overflows, however it comes. */
Test(starttls_lines, longest_line)
{
	size_t n = CK_STARTTLS_MAX_LINE + 2;
	uint8_t *b = malloc(n + 64);
	struct script sc = {"longest line", CK_STARTTLS_POP3, b, 0,
	    CK_STARTTLS_MORE, 0, NULL, "STLS\r\n"};

	memcpy(b, "+OK ", 4);
	memset(b + 4, 'x', n - 4);
	memcpy(b + CK_STARTTLS_MAX_LINE - 1, "\r\n+OK\r\n", 7);
	sc.n = CK_STARTTLS_MAX_LINE + 1 + 5;
	sc.want = CK_STARTTLS_READY;
	check_one(&sc, "whole", cut_whole, NULL);
	check_one(&sc, "byte by byte", cut_bytes, NULL);

	memset(b + 4, 'x', n - 4);
	memcpy(b + CK_STARTTLS_MAX_LINE, "\r\n+OK\r\n", 7);
	sc.n = CK_STARTTLS_MAX_LINE + 2 + 5;
	sc.want = CK_STARTTLS_ERROR;
	sc.code = CK_E_TOO_LARGE;
	sc.err_has = "longer than 4096";
	sc.sent = "";
	check_one(&sc, "whole", cut_whole, NULL);
	check_one(&sc, "byte by byte", cut_bytes, NULL);
	for (size_t at = 4000; at < sc.n; at++)
		check_one(&sc, "split", cut_at, &at);
	free(b);
}

/* A server that never ends its line: refused at the limit, whichever
 * protocol reads lines. */
Test(starttls_lines, endless_line)
{
	static const enum ck_starttls_proto ps[] = {CK_STARTTLS_SMTP,
	    CK_STARTTLS_IMAP, CK_STARTTLS_POP3, CK_STARTTLS_FTP};
	uint8_t *b = malloc(100000);

	memset(b, '2', 100000);
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		struct script sc = {"endless", ps[i], b, 100000,
		    CK_STARTTLS_ERROR, CK_E_TOO_LARGE, "longer than", ""};

		check_one(&sc, "whole", cut_whole, NULL);
		check_one(&sc, "byte by byte", cut_bytes, NULL);
		srand(2);
		check_one(&sc, "random", cut_random, NULL);
	}
	free(b);
}

Test(starttls, direct_tls_is_ready_at_once)
{
	struct ck_buf out = CK_BUF_INIT;
	struct ck_err err = {0};
	struct ck_starttls s;

	ck_starttls_init(&s, CK_STARTTLS_NONE);
	cr_assert_eq(
	    ck_starttls_next(&s, NULL, 0, &out, &err), CK_STARTTLS_READY);
	cr_assert_eq(out.len, 0);
	ck_starttls_init(&s, CK_STARTTLS_NONE);
	cr_assert_eq(
	    ck_starttls_next(&s, S("hello"), &out, &err), CK_STARTTLS_ERROR);
	ck_buf_release(&out);
}

Test(starttls, final_steps_stay_final)
{
	struct ck_buf out = CK_BUF_INIT;
	struct ck_err err = {0};
	struct ck_starttls s;

	ck_starttls_init(&s, CK_STARTTLS_POP3);
	cr_assert_eq(ck_starttls_next(&s, S("+OK\r\n+OK\r\n"), &out, &err),
	    CK_STARTTLS_READY);
	cr_assert_eq(
	    ck_starttls_next(&s, NULL, 0, &out, &err), CK_STARTTLS_READY);
	cr_assert_eq(
	    ck_starttls_next(&s, S("x"), &out, &err), CK_STARTTLS_ERROR);
	cr_assert(strstr(err.msg, "after the go-ahead") != NULL);
	cr_assert_eq(
	    ck_starttls_next(&s, S("+OK\r\n"), &out, &err), CK_STARTTLS_ERROR);

	ck_starttls_init(&s, CK_STARTTLS_POP3);
	cr_assert_eq(ck_starttls_next(&s, S("-ERR no\r\n+OK\r\n"), &out, &err),
	    CK_STARTTLS_REFUSED);
	cr_assert_eq(ck_starttls_next(&s, S("+OK\r\n"), &out, &err),
	    CK_STARTTLS_REFUSED);
	cr_assert_str_eq(out.p, "STLS\r\n");
	ck_buf_release(&out);
}

Test(starttls, names_and_ports)
{
	enum ck_starttls_proto p;

	for (int i = CK_STARTTLS_NONE; i <= CK_STARTTLS_POSTGRES; i++) {
		cr_assert_eq(
		    ck_starttls_parse(
		        ck_starttls_name((enum ck_starttls_proto)i), &p),
		    0);
		cr_assert_eq((int)p, i);
	}
	cr_assert_str_eq(ck_starttls_name(CK_STARTTLS_POSTGRES), "postgres");
	cr_assert_eq(ck_starttls_parse("SMTP", &p), 0);
	cr_assert_eq(p, CK_STARTTLS_SMTP);
	cr_assert_eq(ck_starttls_parse("smtps", &p), CK_E_INVAL);
	cr_assert_eq(ck_starttls_parse("", &p), CK_E_INVAL);
	cr_assert_str_eq(
	    ck_starttls_name((enum ck_starttls_proto)99), "unknown");
	cr_assert_eq(ck_starttls_for_port(25), CK_STARTTLS_SMTP);
	cr_assert_eq(ck_starttls_for_port(587), CK_STARTTLS_SMTP);
	cr_assert_eq(ck_starttls_for_port(143), CK_STARTTLS_IMAP);
	cr_assert_eq(ck_starttls_for_port(110), CK_STARTTLS_POP3);
	cr_assert_eq(ck_starttls_for_port(21), CK_STARTTLS_FTP);
	cr_assert_eq(ck_starttls_for_port(389), CK_STARTTLS_LDAP);
	cr_assert_eq(ck_starttls_for_port(5432), CK_STARTTLS_POSTGRES);
	cr_assert_eq(ck_starttls_for_port(443), CK_STARTTLS_NONE);
	cr_assert_eq(ck_starttls_for_port(465), CK_STARTTLS_NONE);
	cr_assert_eq(ck_starttls_for_port(0), CK_STARTTLS_NONE);
	cr_assert_eq(ck_starttls_for_port(-25), CK_STARTTLS_NONE);
}

/* Random bytes after each protocol's opening never crash and always end
 * in a final step within the limits (the fuzz harness goes further). */
Test(starttls, random_bytes_end_in_a_final_step)
{
	uint8_t b[9000];

	srand(3);
	for (int round = 0; round < 300; round++) {
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)(round % 2
			        ? rand()
			        : "0123456789 -\r\n"[rand() % 14]);
		for (int p = CK_STARTTLS_SMTP; p <= CK_STARTTLS_POSTGRES; p++) {
			struct ck_buf out = CK_BUF_INIT;
			struct ck_starttls s;
			enum ck_starttls_step st;
			size_t off = 0;

			ck_starttls_init(&s, (enum ck_starttls_proto)p);
			st = ck_starttls_next(&s, NULL, 0, &out, NULL);
			while (st == CK_STARTTLS_MORE && off < sizeof(b)) {
				size_t k = 1 + (size_t)rand() % 700;

				if (k > sizeof(b) - off)
					k = sizeof(b) - off;
				st = ck_starttls_next(
				    &s, b + off, k, &out, NULL);
				off += k;
			}
			cr_assert(st != CK_STARTTLS_MORE || off == sizeof(b));
			cr_assert(out.len < 64);
			ck_buf_release(&out);
		}
	}
}
