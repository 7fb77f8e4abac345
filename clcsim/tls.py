"""A throw-away certificate authority and server certificate, made with openssl."""

import os
import ssl
import subprocess

CA_FILE = "ca.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server.key"

# EC keys: generating them takes milliseconds, RSA keys take far longer.
EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

SERVER_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


def _openssl(args, cwd):
    try:
        subprocess.run(["openssl"] + args, cwd=cwd, check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise RuntimeError("TLS needs the openssl command line tool")
    except subprocess.CalledProcessError as err:
        raise RuntimeError("openssl %s failed: %s" % (args[0], err.stderr.decode(errors="replace")))


def make_certificates(directory):
    """Write a CA and a server certificate for 127.0.0.1/localhost into directory.

    Returns the paths (ca_file, cert_file, key_file).
    """
    _openssl(["req", "-x509"] + EC_KEY + [
        "-keyout", "ca.key", "-out", CA_FILE, "-days", "7",
        "-subj", "/O=clcsim/CN=clcsim test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash"], directory)
    _openssl(["req"] + EC_KEY + [
        "-keyout", SERVER_KEY, "-out", "server.csr", "-subj", "/O=clcsim/CN=localhost"], directory)
    with open(os.path.join(directory, "server.ext"), "w") as ext:
        ext.write(SERVER_EXTENSIONS)
    _openssl(["x509", "-req", "-in", "server.csr", "-CA", CA_FILE, "-CAkey", "ca.key",
              "-CAcreateserial", "-out", SERVER_CERT, "-days", "7", "-extfile", "server.ext"], directory)
    os.remove(os.path.join(directory, "ca.key"))  # nobody should sign anything else with it
    return tuple(os.path.join(directory, name) for name in (CA_FILE, SERVER_CERT, SERVER_KEY))


def server_context(cert_file, key_file):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context
