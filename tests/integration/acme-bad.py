#!/usr/bin/python3
# A hand-made ACME client for t8020: each bad input of issue 8 sent to
# certkeep's ACME server, which must answer with the RFC's problem type
# (and a Replay-Nonce), then a good flow to show nothing was spoiled.
# Uses Debian's python3-cryptography and python3-requests (certbot's).
# usage: acme-bad.py DIRECTORY_URL ROOT_PEM HTTP01_PORT
#        acme-bad.py DIRECTORY_URL ROOT_PEM HTTP01_PORT --expired
# The first run leaves acme-bad-state.json (a key, a pending order); the
# second, against the server with its clock 8 days on, checks that the
# order and its authorization expired.
#        acme-bad.py DIRECTORY_URL ROOT_PEM HTTP01_PORT --policy KID HMAC
# checks the policy at the door against a server started with t8060's
# [acme] settings; KID/HMAC is an EAB key made with --allow example.org.
import base64
import hashlib
import hmac
import http.server
import datetime
import json
import os
import ssl
import sys
import threading

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.x509.oid import NameOID

DIR, ROOT, H01 = sys.argv[1], sys.argv[2], int(sys.argv[3])
S = requests.Session()
S.verify = ROOT
S.trust_env = False  # no proxies: all on loopback
D = S.get(DIR).json()
BASE = DIR.rsplit("/", 1)[0]


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Key:
    def __init__(self, pem=None):
        self.k = ec.generate_private_key(ec.SECP256R1()) if pem is None \
            else serialization.load_pem_private_key(pem.encode(), None)
        n = self.k.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC",
                    "x": b64(n.x.to_bytes(32, "big")),
                    "y": b64(n.y.to_bytes(32, "big"))}
        canon = json.dumps(self.jwk, separators=(",", ":"), sort_keys=True)
        self.thumb = b64(hashlib.sha256(canon.encode()).digest())
        self.kid = None

    def sign(self, data):
        r, s = utils.decode_dss_signature(
            self.k.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def nonce():
    return S.head(D["newNonce"]).headers["Replay-Nonce"]


def post(key, url, payload, nonce_=None, alg="ES256", sign_url=None,
         raw=None, tamper=False, use_jwk=None, ctype="application/jose+json"):
    prot = {"alg": alg, "nonce": nonce_ or nonce(), "url": sign_url or url}
    if (use_jwk is None and key.kid is None) or use_jwk:
        prot["jwk"] = key.jwk
    else:
        prot["kid"] = key.kid
    p = b64(json.dumps(prot).encode())
    if payload is None and raw is None:
        pl = ""
    else:
        pl = b64(raw if raw is not None else json.dumps(payload).encode())
    sig = key.sign(("%s.%s" % (p, pl)).encode())
    if tamper:
        sig = bytes([sig[0] ^ 1]) + sig[1:]
    body = json.dumps({"protected": p, "payload": pl, "signature": b64(sig)})
    return S.post(url, data=body, headers={"Content-Type": ctype})


def expect(r, status, typ, what):
    ok = r.status_code == status
    if typ is not None:
        ok = ok and r.headers.get("Content-Type", "").startswith(
            "application/problem+json") and r.json().get("type") == \
            "urn:ietf:params:acme:error:" + typ
    if not ok:
        sys.exit("FAIL: %s: got %d %s, want %d %s" %
                 (what, r.status_code, r.text[:300], status, typ))
    if "Replay-Nonce" not in r.headers:
        sys.exit("FAIL: %s: no Replay-Nonce" % what)
    print("ok   %-45s %d %s" % (what, r.status_code, typ or ""))
    return r


def new_account(key):
    r = expect(post(key, D["newAccount"], {"termsOfServiceAgreed": True,
               "contact": ["mailto:t@example.test"]}), 201, None, "newAccount")
    key.kid = r.headers["Location"]
    return r


if sys.argv[4:] == ["--expired"]:
    st = json.load(open("acme-bad-state.json"))
    a = Key(st["key"])
    a.kid = BASE + st["kid"]
    o = expect(post(a, BASE + st["order"], None), 200, None,
               "expired order").json()
    if o["status"] != "invalid":
        sys.exit("FAIL: expired order is %s" % o["status"])
    az = expect(post(a, BASE + st["authz"], None), 200, None,
                "expired authorization").json()
    if az["status"] != "expired":
        sys.exit("FAIL: expired authorization is %s" % az["status"])
    expect(post(a, BASE + st["chall"], {}), 400, "malformed",
           "challenge of an expired authorization")
    expect(post(a, BASE + st["authz"], {"status": "deactivated"}), 400,
           "malformed", "deactivating an expired authorization")
    expect(post(a, BASE + st["order"] + "/finalize", {"csr": "AAAA"}), 403,
           "orderNotReady", "finalize of an expired order")
    print("expired order and authorization refused")
    sys.exit(0)

if sys.argv[4:5] == ["--policy"]:
    def order(k, *names, status=201, typ=None, what=None):
        ids = [{"type": "ip" if n[0].isdigit() else "dns", "value": n}
               for n in names]
        return expect(post(k, D["newOrder"], {"identifiers": ids}), status,
                      typ, what or "newOrder " + " ".join(names))

    def limited(r, what):
        ra = r.headers.get("Retry-After", "")
        if not ra.isdigit() or not 1 <= int(ra) <= 3600:
            sys.exit("FAIL: %s: Retry-After %r" % (what, ra))

    x, y, e = Key(), Key(), Key()
    new_account(x)
    new_account(y)
    # identifiers: under the allowed suffixes only, at most max_names
    order(x, "a.other.org", status=400, typ="rejectedIdentifier")
    order(x, "notexample.test", status=400, typ="rejectedIdentifier",
          what="newOrder notexample.test (no label boundary)")
    order(x, "127.0.0.2", status=400, typ="rejectedIdentifier")
    order(x, "a.example.test", "b.example.test", "c.example.test",
          "d.example.test", status=400, typ="rejectedIdentifier",
          what="newOrder with 4 names (max_names 3)")
    order(x, "a.example.test")                   # x 1, example.test 1
    order(x, "*.w.example.net", "w.example.net")  # x 2, example.net 1
    order(x, "127.0.0.1")                         # x 3
    # per registered domain, all accounts together: 3 an hour
    order(y, "b.example.test", "bb.example.test")  # example.test 2 (once)
    order(y, "c.example.test")                     # example.test 3
    limited(order(y, "sub.d.example.test", status=429, typ="rateLimited",
                  what="4th order for example.test in an hour"),
            "domain limit")
    order(y, "z.example.net")                      # example.net 2
    # per account: 5 an hour
    order(x, "f.example.net")                      # x 4, example.net 3
    order(x, "127.0.0.1")                          # x 5
    limited(order(x, "g.example.org", status=429, typ="rateLimited",
                  what="6th order of an account in an hour"),
            "account limit")
    # an EAB key's allow list narrows the names of its account
    kid, key = sys.argv[5], sys.argv[6]
    prot = b64(json.dumps({"alg": "HS256", "kid": kid,
                           "url": D["newAccount"]}).encode())
    pl = b64(json.dumps(e.jwk).encode())
    mac = hmac.new(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)),
                   ("%s.%s" % (prot, pl)).encode(), hashlib.sha256).digest()
    r = expect(post(e, D["newAccount"], {
        "termsOfServiceAgreed": True, "externalAccountBinding": {
            "protected": prot, "payload": pl, "signature": b64(mac)}}),
        201, None, "newAccount with an EAB key")
    e.kid = r.headers["Location"]
    order(e, "a.example.org")
    order(e, "e.example.net", status=400, typ="rejectedIdentifier",
          what="newOrder outside the EAB key's allow list")
    order(e, "a.example.org", "a.notexample.org", status=400,
          typ="rejectedIdentifier",
          what="newOrder with one name outside the allow list")
    print("policy at the door enforced")
    sys.exit(0)

a, b = Key(), Key()
expect(post(a, D["newAccount"], {"onlyReturnExisting": True}), 400,
       "accountDoesNotExist", "onlyReturnExisting for a new key")
new_account(a)
new_account(b)

# profiles (draft-ietf-acme-profiles): the directory lists them; an order
# may name one it lists, and nothing else
profiles = D.get("meta", {}).get("profiles", {})
if sorted(profiles) != ["short", "tls-server"]:
    sys.exit("FAIL: directory profiles: %s" % profiles)
print("ok   directory lists the profiles")
for bad in ("nope", 7):
    expect(post(a, D["newOrder"], {"identifiers": [
        {"type": "dns", "value": "p.example.test"}], "profile": bad}), 400,
        "invalidProfile", "newOrder with profile %r" % (bad,))
expect(post(a, D["newAccount"], {}, use_jwk=True), 200, None,
       "newAccount again: the existing account")

# nonces
n = nonce()
expect(post(a, a.kid, None, nonce_=n), 200, None, "POST-as-GET account")
expect(post(a, a.kid, None, nonce_=n), 400, "badNonce", "replayed nonce")
expect(post(a, a.kid, None, nonce_="AAAAAAAAAAAAAAAAAAAAAAAA"), 400,
       "badNonce", "nonce from nowhere")
# the JWS itself
expect(post(a, D["newOrder"], {"identifiers": []},
            sign_url=D["newAccount"]), 403, "unauthorized", "url mismatch")
ghost = Key()
ghost.kid = BASE + "/account/99999"
expect(post(ghost, D["newOrder"], {}), 400, "accountDoesNotExist",
       "unknown kid")
expect(post(a, D["newOrder"], {}, alg="RS256"), 400,
       "badSignatureAlgorithm", "alg that does not suit the key")
expect(post(a, D["newOrder"], {}, alg="none"), 400,
       "badSignatureAlgorithm", "alg none")
expect(post(a, D["newOrder"], {"identifiers": [{"type": "dns",
       "value": "x.example.test"}]}, tamper=True), 400, "malformed",
       "signature that does not verify")
expect(post(a, D["newOrder"], None, raw=b"not json"), 400, "malformed",
       "payload that is not JSON")
expect(post(a, D["newOrder"], {"pad": "x" * 70000}), 400, "malformed",
       "oversized payload")
expect(post(a, D["newOrder"], {}, ctype="application/json"), 415,
       "malformed", "wrong content type")
expect(post(a, D["newOrder"], {}, use_jwk=True), 400, "malformed",
       "newOrder signed with jwk, not kid")
# identifiers
for ident, typ in ((("dns", "a.*.w.example.test"), "rejectedIdentifier"),
                   (("dns", "*.*.w.example.test"), "rejectedIdentifier"),
                   (("dns", "*."), "rejectedIdentifier"),
                   (("dns", "bad..example.test"), "rejectedIdentifier"),
                   (("dns", "UPPER.example.test"), "rejectedIdentifier"),
                   (("email", "a@example.test"), "unsupportedIdentifier")):
    expect(post(a, D["newOrder"], {"identifiers": [
        {"type": ident[0], "value": ident[1]}]}), 400, typ,
        "identifier %s %s" % ident)

# a wildcard: its authorization is for the base name, marked wildcard,
# and offers dns-01 only (no http-01 to answer for a wildcard)
r = expect(post(b, D["newOrder"], {"identifiers": [
    {"type": "dns", "value": "*.w.example.test"}]}), 201, None,
    "newOrder for a wildcard")
wz = expect(post(b, r.json()["authorizations"][0], None), 200, None,
            "wildcard authorization").json()
if wz.get("wildcard") is not True or wz["identifier"]["value"] != \
        "w.example.test" or [c["type"] for c in wz["challenges"]] != \
        ["dns-01"]:
    sys.exit("FAIL: wildcard authorization: %s" % wz)

# a good order; finalize before validation is refused
r = expect(post(a, D["newOrder"], {"identifiers": [
    {"type": "dns", "value": "bad.example.test"}]}), 201, None, "newOrder")
order_url = r.headers["Location"]
order = r.json()
key = ec.generate_private_key(ec.SECP256R1())


def csr(names):
    return b64(x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))


expect(post(a, order["finalize"], {"csr": csr(["bad.example.test"])}), 403,
       "orderNotReady", "finalize before validation")
authz = expect(post(a, order["authorizations"][0], None), 200, None,
               "authorization").json()
ch = [c for c in authz["challenges"] if c["type"] == "http-01"][0]
expect(post(b, authz["challenges"][0]["url"], {}), 403, "unauthorized",
       "challenge answered by another account")
expect(post(b, order_url, None), 403, "unauthorized",
       "order read by another account")
st = expect(post(a, ch["url"], None), 200, None, "challenge POST-as-GET")
if st.json()["status"] != "pending":
    sys.exit("FAIL: challenge moved: %s" % st.text)


# http-01 answered with the key authorization of the wrong key first
class H(http.server.BaseHTTPRequestHandler):
    answer = b""

    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(H.answer)

    def log_message(self, *args):
        pass


srv = http.server.HTTPServer(("127.0.0.1", H01), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
H.answer = ("%s.%s" % (ch["token"], b.thumb)).encode()
r = expect(post(a, ch["url"], {}), 200, None, "challenge with b's key auth")
if r.json()["status"] != "invalid" or r.json()["error"]["type"] != \
        "urn:ietf:params:acme:error:incorrectResponse":
    sys.exit("FAIL: wrong key authorization not refused: %s" % r.text)
o = expect(post(a, order_url, None), 200, None, "order after").json()
if o["status"] != "invalid":
    sys.exit("FAIL: order not invalid: %s" % o)

# a second order, validated properly, with a CSR that names too much;
# it asks for the "short" profile
r = expect(post(a, D["newOrder"], {"identifiers": [
    {"type": "dns", "value": "good.example.test"}], "profile": "short"}),
    201, None, "newOrder")
order_url, order = r.headers["Location"], r.json()
if order.get("profile") != "short":
    sys.exit("FAIL: order without its profile: %s" % order)
authz = expect(post(a, order["authorizations"][0], None), 200, None,
               "authorization").json()
ch = authz["challenges"][0]
H.answer = ("%s.%s\n" % (ch["token"], a.thumb)).encode()
r = expect(post(a, ch["url"], {}), 200, None, "challenge")
if r.json()["status"] != "valid" or 'rel="up"' not in r.headers["Link"]:
    sys.exit("FAIL: challenge not valid: %s %s" % (r.text, r.headers))
srv.shutdown()
srv.server_close()
expect(post(a, order["finalize"], {"csr": csr(["good.example.test",
       "extra.example.test"])}), 400, "badCSR", "CSR with an extra name")
expect(post(a, order["finalize"], {"csr": "AAAA"}), 400, "badCSR",
       "CSR that is not one")
r = expect(post(a, order["finalize"], {"csr": csr(["good.example.test"])}),
           200, None, "finalize")
if r.json()["status"] != "valid":
    sys.exit("FAIL: order not valid: %s" % r.text)
pem = expect(post(a, r.json()["certificate"], None), 200, None,
             "certificate").text
expect(post(b, r.json()["certificate"], None), 403, "unauthorized",
       "certificate read by another account")
open("acme-bad-cert.pem", "w").write(pem)
der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(
    serialization.Encoding.DER)
# "replaces" (RFC 9773 5): the CertID of a certificate of this account
# that no other order replaces
crt = x509.load_pem_x509_certificate(pem.encode())
days = (crt.not_valid_after - crt.not_valid_before).total_seconds() / 86400
if days > 7.01:
    sys.exit("FAIL: the short profile's certificate is valid %.1f days" % days)
print("ok   the order's profile sets the certificate (%.1f days)" % days)
aki = crt.extensions.get_extension_for_class(
    x509.AuthorityKeyIdentifier).value.key_identifier
sn = crt.serial_number
certid = b64(aki) + "." + b64(sn.to_bytes(sn.bit_length() // 8 + 1, "big"))
ri = S.get(D["renewalInfo"] + "/" + certid)
if ri.status_code != 200 or "suggestedWindow" not in ri.json() or \
        "Retry-After" not in ri.headers:
    sys.exit("FAIL: renewalInfo: %d %s" % (ri.status_code, ri.text))
print("ok   renewalInfo                                   200")
rid = [{"type": "dns", "value": "good.example.test"}]
expect(post(b, D["newOrder"], {"identifiers": rid, "replaces": certid}),
       403, "unauthorized", "replaces another account's certificate")
expect(post(a, D["newOrder"], {"identifiers": rid, "replaces": "x.y"}),
       400, "malformed", "replaces that is not a CertID")
expect(post(a, D["newOrder"], {"identifiers": rid, "replaces": 7}),
       400, "malformed", "replaces that is not a string")
expect(post(a, D["newOrder"], {"identifiers": rid, "replaces": "AQ.AQ"}),
       400, "malformed", "replaces naming no certificate")
r2 = expect(post(a, D["newOrder"], {"identifiers": rid,
            "replaces": certid}), 201, None, "newOrder replacing")
if r2.json().get("replaces") != certid:
    sys.exit("FAIL: order does not show replaces: %s" % r2.text)
expect(post(a, D["newOrder"], {"identifiers": rid, "replaces": certid}),
       409, "alreadyReplaced", "replaces a replaced certificate")
expect(post(b, D["revokeCert"], {"certificate": b64(der)}), 403,
       "unauthorized", "revokeCert by another account")
expect(post(a, D["revokeCert"], {"certificate": b64(der), "reason": 7}),
       400, "badRevocationReason", "revokeCert with reason 7")
expect(post(a, D["revokeCert"], {"certificate": b64(der), "reason": 1}),
       200, None, "revokeCert")
expect(post(a, D["revokeCert"], {"certificate": b64(der)}), 400,
       "alreadyRevoked", "revokeCert again")
# the account's orders: both of a's, none of b's
acct = expect(post(a, a.kid, None), 200, None, "account").json()
lst = expect(post(a, acct["orders"], None), 200, None, "orders list").json()
if len(lst["orders"]) != 3 or order_url not in lst["orders"]:
    sys.exit("FAIL: orders list: %s" % lst)
expect(post(b, acct["orders"], None), 403, "unauthorized",
       "orders list of another account")
# deactivation ends the account
expect(post(b, b.kid, {"status": "deactivated"}), 200, None, "deactivate")
expect(post(b, D["newOrder"], {"identifiers": [
    {"type": "dns", "value": "b.example.test"}]}), 403, "unauthorized",
    "newOrder by a deactivated account")


# keyChange (RFC 8555 7.3.5): the inner JWS signed by the new key
def inner(new, signer=None, url=None, account=None, old_jwk=None,
          extra=None):
    prot = {"alg": "ES256", "jwk": new.jwk, "url": url or D["keyChange"]}
    prot.update(extra or {})
    p = b64(json.dumps(prot).encode())
    pl = b64(json.dumps({"account": account or a.kid,
                         "oldKey": old_jwk or a.jwk}).encode())
    sig = (signer or new).sign(("%s.%s" % (p, pl)).encode())
    return {"protected": p, "payload": pl, "signature": b64(sig)}


c = Key()
kc = D["keyChange"]
expect(post(a, kc, inner(c, signer=Key())), 400, "malformed",
       "keyChange inner signed by another key")
expect(post(a, kc, inner(c, url=D["newOrder"])), 400, "malformed",
       "keyChange inner url mismatch")
expect(post(a, kc, inner(c, account=b.kid)), 400, "malformed",
       "keyChange inner account mismatch")
expect(post(a, kc, inner(c, old_jwk=b.jwk)), 400, "malformed",
       "keyChange oldKey is not the account's")
expect(post(a, kc, inner(c, extra={"nonce": nonce()})), 400, "malformed",
       "keyChange inner with a nonce")
expect(post(a, kc, {"protected": "x"}), 400, "malformed",
       "keyChange payload not a JWS")
expect(post(a, kc, inner(c), use_jwk=True), 400, "malformed",
       "keyChange signed with jwk, not kid")
r = expect(post(a, kc, inner(b)), 409, "conflict",
           "keyChange to a key with an account")
if r.headers.get("Location") != b.kid:
    sys.exit("FAIL: conflict without the account's Location: %s" %
             r.headers)
expect(post(a, kc, inner(c)), 200, None, "keyChange")
c.kid = a.kid
expect(post(c, a.kid, None), 200, None, "account by the new key")
expect(post(a, a.kid, None), 400, "malformed", "account by the old key")
expect(post(c, kc, inner(a, old_jwk=c.jwk)), 200, None, "keyChange back")

# authorization deactivation (RFC 8555 7.5.2)
r = expect(post(a, D["newOrder"], {"identifiers": [
    {"type": "dns", "value": "deact.example.test"}]}), 201, None,
    "newOrder to deactivate")
dorder, dz = r.headers["Location"], r.json()["authorizations"][0]
dch = expect(post(a, dz, None), 200, None, "authorization").json()
expect(post(b, dz, {"status": "deactivated"}), 403, "unauthorized",
       "deactivation by another account")
expect(post(a, dz, {"status": "valid"}), 400, "malformed",
       "authorization status other than deactivated")
r = expect(post(a, dz, {"status": "deactivated"}), 200, None,
           "authorization deactivation")
if r.json()["status"] != "deactivated":
    sys.exit("FAIL: authorization not deactivated: %s" % r.text)
expect(post(a, dz, {"status": "deactivated"}), 400, "malformed",
       "deactivation twice")
expect(post(a, dch["challenges"][0]["url"], {}), 400, "malformed",
       "challenge of a deactivated authorization")
if expect(post(a, dorder, None), 200, None,
          "order after deactivation").json()["status"] != "invalid":
    sys.exit("FAIL: order of a deactivated authorization not invalid")

# http-01 redirects (RFC 8555 8.3): followed to paths, to http on the
# http-01 port and to https on the https port ([acme] tlsalpn_port);
# not to other ports, and not more than 10 times
class R(http.server.BaseHTTPRequestHandler):
    routes = {}

    def do_GET(self):
        code, loc, body = R.routes.get(self.path, (404, None, b""))
        self.send_response(code)
        if loc:
            self.send_header("Location", loc)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


TLS = int(os.environ["ACME_BAD_TLS_PORT"])
tkey = ec.generate_private_key(ec.SECP256R1())
tname = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tls.test")])
now = datetime.datetime.now(datetime.timezone.utc)
tcert = x509.CertificateBuilder().subject_name(tname).issuer_name(tname) \
    .public_key(tkey.public_key()).serial_number(1) \
    .not_valid_before(now - datetime.timedelta(days=1)) \
    .not_valid_after(now + datetime.timedelta(days=1)) \
    .sign(tkey, hashes.SHA256())
open("redir-tls.pem", "wb").write(
    tcert.public_bytes(serialization.Encoding.PEM) + tkey.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
hsrv = http.server.HTTPServer(("127.0.0.1", H01), R)
tsrv = http.server.HTTPServer(("127.0.0.1", TLS), R)
tctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tctx.load_cert_chain("redir-tls.pem")
tsrv.socket = tctx.wrap_socket(tsrv.socket, server_side=True)
for sv in (hsrv, tsrv):
    threading.Thread(target=sv.serve_forever, daemon=True).start()


def redirect_order(name, routes_of, status, what):
    o = expect(post(a, D["newOrder"], {"identifiers": [
        {"type": "dns", "value": name}]}), 201, None, "newOrder " + name)
    z = expect(post(a, o.json()["authorizations"][0], None), 200, None,
               "authorization").json()
    ch = [c for c in z["challenges"] if c["type"] == "http-01"][0]
    R.routes = routes_of(ch["token"], ("%s.%s" % (ch["token"], a.thumb))
                         .encode())
    r = expect(post(a, ch["url"], {}), 200, None, what)
    if r.json()["status"] != status:
        sys.exit("FAIL: %s: %s" % (what, r.text))
    return r.json()


W = "/.well-known/acme-challenge/"
redirect_order("redir.example.test", lambda t, ka: {
    W + t: (301, "/moved/" + t, b""),
    "/moved/" + t: (307, "http://other.example.test:%d/x/%s" % (H01, t), b""),
    "/x/" + t: (308, "https://tls.example.test:%d/y/%s" % (TLS, t), b""),
    "/y/" + t: (200, None, ka)}, "valid",
    "http-01 through 3 redirects, the last to https")
e = redirect_order("redir-port.example.test", lambda t, ka: {
    W + t: (302, "http://x.example.test:1/" + t, b""),
    "/" + t: (200, None, ka)}, "invalid", "http-01 redirected to port 1")
if "not followed" not in e["error"]["detail"]:
    sys.exit("FAIL: redirect to port 1: %s" % e)
e = redirect_order("redir-loop.example.test", lambda t, ka: {
    W + t: (302, W + t, b"")}, "invalid", "http-01 redirected in a loop")
if "more than 10 redirects" not in e["error"]["detail"]:
    sys.exit("FAIL: redirect loop: %s" % e)
hsrv.shutdown()
tsrv.shutdown()

# for the --expired run: a's key and its pending replacing order
rz = expect(post(a, r2.json()["authorizations"][0], None), 200, None,
            "authorization").json()
json.dump({"key": a.k.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption()).decode(),
    "kid": a.kid[len(BASE):], "order": r2.headers["Location"][len(BASE):],
    "authz": r2.json()["authorizations"][0][len(BASE):],
    "chall": rz["challenges"][0]["url"][len(BASE):]},
    open("acme-bad-state.json", "w"))
print("all bad inputs refused")
