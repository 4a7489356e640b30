// Chromium over HTTPS (issue 14 item 3): an EventSource on herald's TLS
// listener, with the test certificates trusted the way a browser without a
// system CA store can be made to (--ignore-certificate-errors-spki-list,
// certificate verification on), keeps receiving across a SIGHUP that swaps
// the certificate, while new connections see the new one; a certificate the
// browser does not trust is refused.
//
// Chromium cannot be shown an *expired* certificate on its own here: pinning
// a key skips every check, expiry included, and there is no CA store to put
// the test root in. curl and Node refuse the expired certificate in
// tests/integration/tls.test.mjs.
//
// Run from the repo root: npm ci --prefix tests/browser && node --test tests/browser/
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { openPage } from './lib/browser.mjs';
import { htest, publishOk, uid, waitFor } from '../integration/lib/herald.mjs';
import { CERT_A, CERT_B, CERT_OLD, spkiHash, startTls } from '../integration/lib/test_pki.mjs';

const pinned = (...certs) => ({
  args: [`--ignore-certificate-errors-spki-list=${certs.map((c) => spkiHash(c.cert_file)).join(',')}`],
});

function page(url) {
  return `<!doctype html><meta charset="utf-8"><title>herald EventSource over TLS</title>
<script>
  window.sources = {};
  window.open_es = (name, url) => {
    const s = { types: [], connected: 0, errors: 0 };
    window.sources[name] = s;
    const es = new EventSource(url);
    es.onmessage = (m) => { s.types.push(JSON.parse(m.data).e.type); };
    es.addEventListener('connected', () => { s.connected += 1; });
    es.onerror = () => { s.errors += 1; };
  };
  window.open_es('first', ${JSON.stringify(url)});
</script>`;
}

// Navigates a new tab to `url` and returns the certificate Chromium was shown.
async function certSeen(context, url) {
  const tab = await context.newPage();
  try {
    const resp = await tab.goto(url);
    const details = await resp.securityDetails();
    return { status: resp.status(), subject: details.subjectName, protocol: details.protocol };
  } finally {
    await tab.close();
  }
}

htest('browser: EventSource over HTTPS keeps receiving across a certificate swap; new connections see the new certificate', async () => {
  const h = await startTls(CERT_A);
  const topic = `browser-tls/${uid('t')}`;
  const sse = (clid) => `${h.https}/sse?clid=${clid}&topic=${encodeURIComponent(topic)}`;
  const browser = await openPage(page(sse('chromium-a')), pinned(CERT_A, CERT_B));
  try {
    const { get, tab, context } = browser;
    await waitFor(() => get('window.sources.first.connected === 1'), { timeout: 10000, what: 'EventSource connected over TLS' });
    await publishOk(h, topic, 'before');
    await waitFor(async () => (await get('window.sources.first.types')).includes('before'), { what: 'event over TLS' });
    const a = await certSeen(context, `https://127.0.0.1:${h.tlsPort}/alive`);
    assert.equal(a.subject, 'herald-a');
    assert.match(a.protocol, /^TLS 1\.[23]$/);

    const config = JSON.parse(fs.readFileSync(h.configFile, 'utf8'));
    const mark = h.stderr.length;
    fs.writeFileSync(h.configFile, JSON.stringify({ ...config, tls: { ...config.tls, ...CERT_B } }));
    h.proc.kill('SIGHUP');
    await waitFor(() => /SIGHUP: reloaded/.test(h.stderr.slice(mark)), { what: 'the reload' });

    // Another host name, so Chromium cannot reuse the connection made under A.
    const b = await certSeen(context, `https://localhost:${h.tlsPort}/alive`);
    assert.equal(b.subject, 'herald-b');
    await tab.evaluate((url) => window.open_es('second', url), sse('chromium-b'));
    await waitFor(() => get('window.sources.second && window.sources.second.connected === 1'), { timeout: 10000, what: 'a new EventSource under B' });
    await publishOk(h, topic, 'after');
    await waitFor(async () => (await get('window.sources.second.types')).includes('after'), { what: 'event on the new stream' });
    await waitFor(async () => (await get('window.sources.first.types')).includes('after'), { what: 'event on the stream opened under A' });
    assert.deepEqual(await get('window.sources.first.types'), ['before', 'after']);
    assert.equal(await get('window.sources.first.connected'), 1, 'the stream opened under A never reconnected');
    assert.equal(await get('window.sources.first.errors'), 0);
  } finally {
    await browser.close();
  }
});

htest('browser: a certificate Chromium does not trust is refused', async () => {
  const h = await startTls(CERT_OLD);
  const browser = await openPage(page(`${h.https}/sse?clid=untrusted&topic=x`), pinned(CERT_A));
  try {
    const { get, context } = browser;
    await waitFor(() => get('window.sources.first.errors >= 1'), { timeout: 10000, what: 'EventSource error' });
    assert.equal(await get('window.sources.first.connected'), 0);
    await assert.rejects(certSeen(context, `https://127.0.0.1:${h.tlsPort}/alive`), /ERR_CERT_/);
    const st = await h.state();
    assert.equal(st.connections.total, 0, 'no stream was opened');
  } finally {
    await browser.close();
  }
});
