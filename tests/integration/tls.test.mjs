// TLS on the public listener (issue 14 item 3): tls.cert_file / tls.key_file
// serve HTTPS on tls.listen beside the plain listener. The test makes its own
// PKI with the openssl CLI (a root, an intermediate, a chained server
// certificate, a second one for the reload, an expired one) and checks every
// transport over HTTPS with curl and Node against that root only, ALPN,
// the TLS 1.2 floor, the expired certificate being refused by the clients,
// --check-config, and a SIGHUP swapping the certificate under an open stream.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import tls from 'node:tls';
import {
  htest, runHerald, publishOk, request, uid, waitFor, tmpFile,
} from './lib/herald.mjs';
import { subscribe } from './lib/esweb_client.mjs';
import { sseOpen, waitMessages } from './lib/sse_client.mjs';
import { pki, CA, CERT_A, CERT_B, CERT_OLD, startTls } from './lib/test_pki.mjs';

// ---------------------------------------------------------------------------
// Helpers.

// One TLS handshake with the test root trusted: what the server showed.
function handshake(port, opts = {}) {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, ca: CA, ...opts }, () => {
      const cert = sock.getPeerCertificate(true);
      const info = {
        alpn: sock.alpnProtocol,
        protocol: sock.getProtocol(),
        subject: cert.subject.CN,
        serial: cert.serialNumber,
        issuer: cert.issuer.CN,
      };
      sock.end();
      resolve(info);
    });
    sock.on('error', reject);
  });
}

// Runs curl to completion; {code, stdout, stderr}.
function curl(args, { timeoutMs = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn('curl', ['-sS', '--cacert', pki('root.pem'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

// A streaming curl (-N): kept running; wait(re) resolves once stdout matches.
function curlStream(args) {
  const p = spawn('curl', ['-sSN', '--cacert', pki('root.pem'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const s = { stdout: '', stderr: '', closed: false };
  p.stdout.on('data', (d) => { s.stdout += d; });
  p.stderr.on('data', (d) => { s.stderr += d; });
  p.on('close', () => { s.closed = true; });
  s.wait = (re, what) => waitFor(() => re.test(s.stdout), { timeout: 10000, what });
  s.close = () => { if (!s.closed) p.kill('SIGKILL'); };
  return s;
}

async function lastReload(h, fromStderr) {
  await waitFor(() => /SIGHUP: re/.test(h.stderr.slice(fromStderr)), { what: 'the reload log line' });
  return h.state();
}

// ---------------------------------------------------------------------------

htest('tls: stream, SSE and poll over HTTPS with a chained certificate; ALPN http/1.1; plain listener and private API unchanged', async () => {
  const h = await startTls(CERT_A);
  const topic = `tls/${uid('t')}`;

  // The es-web stream through node:https, trusting the root only: the
  // server must send the intermediate (the chain in tls.cert_file).
  const sub = subscribe(h.tlsSide, { clid: 'tls-stream', ep: [topic] });
  await sub.connected;

  // SSE and poll through curl; -v shows the ALPN outcome.
  const sse = curlStream(['-v', `${h.https}/sse?clid=tls-sse&topic=${encodeURIComponent(topic)}`]);
  try {
    await sse.wait(/event: connected/, 'SSE connected over TLS');
    assert.match(sse.stderr, /ALPN: server accepted http\/1\.1/);
    const first = await curl([`${h.https}/poll?topic=${encodeURIComponent(topic)}&clid=tls-poll`]);
    assert.equal(first.code, 0, first.stderr);
    const session = JSON.parse(first.stdout);
    assert.ok(session.connid && session.secret, first.stdout);

    const { id } = await publishOk(h, topic, 'over-tls', { n: 1 });
    const frame = await sub.next('over-tls');
    assert.equal(frame.id, id);
    assert.deepEqual(frame.e.detail, { n: 1 });
    await sse.wait(/"over-tls"/, 'the SSE event over TLS');
    assert.match(sse.stdout, new RegExp(`id: ${id}`));
    const q = new URLSearchParams({ connid: session.connid, secret: session.secret, since: session.cursor, timeout: '5000' });
    const polled = await curl([`${h.https}/poll?${q}`]);
    assert.equal(polled.code, 0, polled.stderr);
    assert.deepEqual(JSON.parse(polled.stdout).events.map((e) => e.id), [id]);
  } finally {
    sse.close();
  }

  // The transports say they came in over the TLS listener by being there at all;
  // the plain listener still serves plain HTTP, the private API too.
  const st = await h.state();
  assert.ok(st.connections.total >= 2, JSON.stringify(st.connections));
  const plain = await request(`${h.pub}/poll?topic=${encodeURIComponent(topic)}`);
  assert.equal(plain.status, 200);
  const onTlsPort = await request(`http://127.0.0.1:${h.tlsPort}/poll?topic=x`).catch((e) => e);
  assert.ok(onTlsPort instanceof Error || onTlsPort.status >= 400, 'plain HTTP on the TLS port is not served');

  // ALPN: http/1.1 chosen from a list that prefers h2; no ALPN answer (not
  // an alert) for a client offering h2 only.
  const alpn = await handshake(h.tlsPort, { ALPNProtocols: ['h2', 'http/1.1'] });
  assert.equal(alpn.alpn, 'http/1.1');
  assert.equal(alpn.subject, 'herald-a');
  assert.equal(alpn.issuer, 'herald test intermediate');
  assert.equal((await handshake(h.tlsPort, { ALPNProtocols: ['h2'] })).alpn, false);
  // TLS 1.2 is the floor.
  assert.equal((await handshake(h.tlsPort, { maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
  await assert.rejects(
    handshake(h.tlsPort, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    /protocol|version/i);
});

htest('tls: an expired certificate is served, and refused by curl and Node', async () => {
  const h = await startTls(CERT_OLD);
  assert.match(h.stderr, /TLS listener on 127\.0\.0\.1:\d+, certificate: subject CN = herald-expired.*\(EXPIRED\)/);
  const r = await curl([`${h.https}/poll?topic=x`]);
  assert.equal(r.code, 60, `curl refuses the peer certificate: ${r.stderr}`);
  assert.match(r.stderr, /expired/i);
  await assert.rejects(handshake(h.tlsPort), (e) => e.code === 'CERT_HAS_EXPIRED');
});

htest('tls: SIGHUP swaps the certificate for new handshakes; open streams stay and keep receiving; a bad file keeps it', async () => {
  const h = await startTls(CERT_A);
  const topic = `tls/${uid('t')}`;
  assert.equal((await handshake(h.tlsPort)).serial, 'A1');
  const sub = subscribe(h.tlsSide, { clid: 'tls-reload-stream', ep: [topic] });
  await sub.connected;
  const sse = await sseOpen(h.tlsSide, { clid: 'tls-reload-sse', topic });
  await publishOk(h, topic, 'before');
  await sub.next('before');
  await waitMessages(sse, 1);

  const config = JSON.parse(fs.readFileSync(h.configFile, 'utf8'));
  let mark = h.stderr.length;
  fs.writeFileSync(h.configFile, JSON.stringify({ ...config, tls: { ...config.tls, ...CERT_B } }));
  h.proc.kill('SIGHUP');
  let st = await lastReload(h, mark);
  assert.equal(st.last_reload.ok, true, JSON.stringify(st.last_reload));
  assert.match(h.stderr.slice(mark), /SIGHUP: TLS certificate: subject CN = herald-b, serial B2/);
  const after = await handshake(h.tlsPort);
  assert.deepEqual([after.subject, after.serial], ['herald-b', 'B2']);
  const viaCurl = await curl(['-v', `${h.https}/poll?topic=x`]);
  assert.equal(viaCurl.code, 0, viaCurl.stderr);
  assert.match(viaCurl.stderr, /subject: CN=herald-b/);

  // The streams opened under A are still the same connections, and receive.
  assert.equal(st.connections.total, 2);
  await publishOk(h, topic, 'after');
  await sub.next('after');
  assert.deepEqual((await waitMessages(sse, 2)).map((m) => m.json.e.type), ['before', 'after']);
  assert.equal(sub.isEnded, false);
  assert.equal(sse.isEnded, false);

  // A bad certificate file: the reload fails, B stays.
  mark = h.stderr.length;
  fs.writeFileSync(h.configFile, JSON.stringify({ ...config, tls: { ...config.tls, cert_file: pki('missing.pem') } }));
  h.proc.kill('SIGHUP');
  st = await lastReload(h, mark);
  assert.equal(st.last_reload.ok, false);
  assert.match(st.last_reload.error, /tls\.cert_file: .*missing\.pem/);
  assert.equal((await handshake(h.tlsPort)).serial, 'B2');
  // A key that is not the certificate's: refused the same way.
  mark = h.stderr.length;
  fs.writeFileSync(h.configFile, JSON.stringify({ ...config, tls: { ...config.tls, key_file: CERT_B.key_file } }));
  h.proc.kill('SIGHUP');
  st = await lastReload(h, mark);
  assert.equal(st.last_reload.ok, false);
  assert.match(st.last_reload.error, /tls\.key_file: .*does not match the certificate/);
  assert.equal((await handshake(h.tlsPort)).serial, 'B2');
  await publishOk(h, topic, 'still');
  await sub.next('still');
});

htest('tls: --check-config loads the PEM files and names the key that is wrong', async () => {
  const check = async (tlsConf) => runHerald(['--check-config', tmpFile('tls.json', JSON.stringify({ tls: tlsConf }))]);
  const good = await check({ ...CERT_A, listen: '127.0.0.1:8443' });
  assert.equal(good.code, 0, good.stderr);
  for (const [conf, re] of [
    [{ ...CERT_A, cert_file: pki('missing.pem') }, /tls\.cert_file: .*missing\.pem/],
    [{ ...CERT_A, key_file: pki('root.pem') }, /tls\.key_file/],
    [{ ...CERT_A, key_file: CERT_B.key_file }, /tls\.key_file: .*does not match the certificate/],
    [{ cert_file: CERT_A.cert_file }, /tls\.key_file: .*go together/],
    [{ ...CERT_A, listen: 'nowhere' }, /tls\.listen/],
  ]) {
    const r = await check(conf);
    assert.notEqual(r.code, 0, `${JSON.stringify(conf)} accepted`);
    assert.match(r.stderr + r.stdout, re);
  }
});
