"""pki.py - the test API server's credentials, made once per directory with the
openssl CLI and reused on restart:

    ca.crt, ca.key           a self-signed CA
    server.crt, server.key   signed by it, for 127.0.0.1 and localhost
    token                    a random bearer token
    kubeconfig               server URL, CA path (absolute) and token
"""
import json
import os
import secrets
import subprocess
import tempfile

CA_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = spoke-test-apiserver-ca
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
"""

SERVER_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = 127.0.0.1
[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""

EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(*args):
    p = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {p.stderr.strip()}")


def ensure_certificates(d):
    """Makes the CA and server certificate in d unless they are there already."""
    names = ("ca.crt", "ca.key", "server.crt", "server.key")
    if all(os.path.exists(os.path.join(d, n)) for n in names):
        return
    with tempfile.TemporaryDirectory() as tmp:
        ca_cnf, srv_cnf = os.path.join(tmp, "ca.cnf"), os.path.join(tmp, "server.cnf")
        csr = os.path.join(tmp, "server.csr")
        with open(ca_cnf, "w") as f:
            f.write(CA_CONFIG)
        with open(srv_cnf, "w") as f:
            f.write(SERVER_CONFIG)
        p = {n: os.path.join(d, n) for n in names}
        _openssl("req", "-x509", *EC_KEY, "-config", ca_cnf, "-days", "3650",
                 "-keyout", p["ca.key"], "-out", p["ca.crt"])
        _openssl("req", "-new", *EC_KEY, "-config", srv_cnf,
                 "-keyout", p["server.key"], "-out", csr)
        _openssl("x509", "-req", "-in", csr, "-CA", p["ca.crt"], "-CAkey", p["ca.key"],
                 "-set_serial", str(secrets.randbits(63)), "-days", "3650",
                 "-extfile", srv_cnf, "-extensions", "v3_server", "-out", p["server.crt"])
    for n in ("ca.key", "server.key"):
        os.chmod(os.path.join(d, n), 0o600)


def ensure_token(d):
    path = os.path.join(d, "token")
    if os.path.exists(path):
        with open(path) as f:
            token = f.read().strip()
        if token:
            return token
    token = secrets.token_hex(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def write_kubeconfig(d, url, token):
    """YAML; values are JSON strings, which YAML reads as double-quoted strings."""
    q = json.dumps
    text = f"""\
apiVersion: v1
kind: Config
clusters:
- name: spoke-test
  cluster:
    server: {q(url)}
    certificate-authority: {q(os.path.abspath(os.path.join(d, "ca.crt")))}
users:
- name: spoke-test
  user:
    token: {q(token)}
contexts:
- name: spoke-test
  context:
    cluster: spoke-test
    user: spoke-test
current-context: spoke-test
"""
    path = os.path.join(d, "kubeconfig")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return path
