// A test PKI made with the openssl CLI, once per test process, for the TLS
// tests (tests/integration/tls.test.mjs, tests/browser/tls.test.mjs): a root,
// an intermediate, server certificate A (signed by the intermediate, its file
// carrying the chain), B (signed by the root, what a reload swaps in) and an
// expired one. Every server certificate names 127.0.0.1 and localhost.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHerald, freePort } from './herald.mjs';

const pkiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-tls-'));
process.on('exit', () => fs.rmSync(pkiDir, { recursive: true, force: true }));
export const pki = (name) => path.join(pkiDir, name);
const openssl = (...args) => execFileSync('openssl', args, { cwd: pkiDir, stdio: 'pipe' });

function newKeyAndCsr(name, cn) {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
}
function sign(name, ca, { days, serial, ext }) {
  fs.writeFileSync(pki(`${name}.ext`), ext);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`,
    '-set_serial', serial, '-days', String(days), '-extfile', `${name}.ext`, '-out', `${name}.pem`);
}
const CA_EXT = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n';
const LEAF_EXT = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' +
  'extendedKeyUsage=serverAuth\n';

openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
  '-keyout', 'root.key', '-out', 'root.pem', '-days', '2', '-subj', '/CN=herald test root');
newKeyAndCsr('inter', 'herald test intermediate');
sign('inter', 'root', { days: 2, serial: '0x10', ext: CA_EXT });
newKeyAndCsr('a', 'herald-a');
sign('a', 'inter', { days: 1, serial: '0xA1', ext: LEAF_EXT });
fs.writeFileSync(pki('a-chain.pem'), fs.readFileSync(pki('a.pem')) + fs.readFileSync(pki('inter.pem')));
newKeyAndCsr('b', 'herald-b');
sign('b', 'root', { days: 1, serial: '0xB2', ext: LEAF_EXT });
// Expired: -days -1 puts notAfter a day before notBefore.
newKeyAndCsr('old', 'herald-expired');
sign('old', 'root', { days: -1, serial: '0xE3', ext: LEAF_EXT });

export const CA = fs.readFileSync(pki('root.pem'));
export const CERT_A = { cert_file: pki('a-chain.pem'), key_file: pki('a.key') };
export const CERT_B = { cert_file: pki('b.pem'), key_file: pki('b.key') };
export const CERT_OLD = { cert_file: pki('old.pem'), key_file: pki('old.key') };

// base64 SHA-256 of a certificate's public key (SubjectPublicKeyInfo), the
// form Chromium's --ignore-certificate-errors-spki-list takes.
export function spkiHash(certFile) {
  const pub = execFileSync('openssl', ['x509', '-pubkey', '-noout', '-in', certFile]);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pub });
  return execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der }).toString('base64');
}

// Starts herald with tls.* on a free port; h.tlsPort, h.https, and h.tlsSide
// (an h-like object the stream clients use to connect over HTTPS).
export async function startTls(cert, config = {}) {
  const tlsPort = await freePort();
  const h = await startHerald({ config: { ...config, tls: { ...cert, listen: `127.0.0.1:${tlsPort}` } } });
  h.tlsPort = tlsPort;
  h.https = `https://127.0.0.1:${tlsPort}`;
  h.tlsSide = { ...h, pubPort: tlsPort, tls: { ca: CA } };
  return h;
}
