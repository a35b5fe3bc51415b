"""tokens.py - credentials made at test time: htpasswd lines with
`openssl passwd`, RSA keys with `openssl genpkey`, JWTs signed with `openssl
dgst` (and, for the hostile cases, unsigned or HMAC-forged ones)."""
import base64
import hashlib
import hmac
import json
import os
import subprocess


def htpasswd_line(user, password, algo="-6"):
    """algo: -6 (sha512-crypt), -5 (sha256-crypt), -apr1, -1 (md5-crypt)."""
    h = subprocess.run(["openssl", "passwd", algo, password], check=True, capture_output=True,
                       text=True).stdout.strip()
    return f"{user}:{h}"


def rsa_key(workdir, name="jwt"):
    """(private_key_path, public_key_pem_text)."""
    key = os.path.join(workdir, f"{name}.key")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", key], check=True, capture_output=True)
    pub = subprocess.run(["openssl", "pkey", "-in", key, "-pubout"], check=True,
                         capture_output=True, text=True).stdout
    return key, pub


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signing_input(header, claims):
    return b64url(json.dumps(header)) + "." + b64url(json.dumps(claims))


def jwt_rs256(key_path, claims, kid=None):
    header = {"alg": "RS256", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    si = _signing_input(header, claims)
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_path], input=si.encode(),
                         check=True, capture_output=True).stdout
    return si + "." + b64url(sig)


def jwt_none(claims):
    return _signing_input({"alg": "none", "typ": "JWT"}, claims) + "."


def jwt_hs256(secret_bytes, claims):
    """An HMAC token; with the RSA public key PEM as secret, the classic
    algorithm-confusion forgery."""
    si = _signing_input({"alg": "HS256", "typ": "JWT"}, claims)
    return si + "." + b64url(hmac.new(secret_bytes, si.encode(), hashlib.sha256).digest())
