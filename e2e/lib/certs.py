"""certs.py - self-signed certificates made with the openssl CLI at test
time, and TLS Secrets holding them."""
import base64
import os
import subprocess


def make_cert(workdir, name, hosts, days=30):
    """(cert_path, key_path) of a new EC P-256 self-signed certificate for hosts."""
    cert = os.path.join(workdir, f"{name}.crt")
    key = os.path.join(workdir, f"{name}.key")
    san = ",".join(f"DNS:{h}" for h in hosts)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", str(days), "-subj", f"/CN={hosts[0]}", "-addext",
                    f"subjectAltName={san}"], check=True, capture_output=True)
    return cert, key


def tls_secret(ns, name, cert_path, key_path):
    def b64(path):
        with open(path, "rb") as f:
            return base64.b64encode(f.read()).decode()
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": ns},
            "data": {"tls.crt": b64(cert_path), "tls.key": b64(key_path)}}


def serial_of(cert_path):
    out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", cert_path],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().split("=", 1)[1].upper()
