// A real browser and JWT auth: headless Chromium opens an EventSource with a
// ticket (POST /ticket with the JWT; the ticket goes in the URL, the JWT does
// not), receives events of its space, and is disconnected with
// `unauthorized` when the token expires; its automatic reconnect reuses the
// spent ticket and is refused, so the EventSource ends CLOSED.
//
// Run from the repo root: npm ci --prefix tests/browser && node --test tests/browser/
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { htest, startHerald, publishOk, request, uid, waitFor } from '../integration/lib/herald.mjs';
import { mint, claims } from '../integration/lib/jwt.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SECRET = 'browser-secret-0123456789abcdef0123';

function page(url) {
  return `<!doctype html><meta charset="utf-8"><title>herald EventSource auth</title>
<script>
  window.types = []; window.connected = 0; window.disconnects = []; window.errors = 0;
  window.es = new EventSource(${JSON.stringify(url)});
  es.onmessage = (m) => { window.types.push(JSON.parse(m.data).e.type); };
  es.addEventListener('connected', () => { window.connected += 1; });
  es.addEventListener('disconnect', (m) => { window.disconnects.push(JSON.parse(m.data).e.detail.reason); });
  es.onerror = () => { window.errors += 1; };
</script>`;
}

htest('browser: EventSource with a ticket; token expiry ends it with unauthorized', async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  const h = await startHerald({
    extraArgs: ['--jwt-hs256-secret', SECRET],
    config: { sse: { retry_ms: 500 }, auth: { jwt_leeway_s: 0, expiring_notice_s: 0 } },
  });
  const space = uid('sp');
  const token = mint('HS256', SECRET, claims({ spaces: [space] }, 4));
  const t = await request(h.pub + '/ticket', { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  assert.equal(t.status, 200, t.text);
  const url = `http://127.0.0.1:${h.pubPort}/sse?space=${space}&channel=news&ticket=${t.json.ticket}`;

  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page(url));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const tab = await context.newPage();
    await tab.goto(`http://127.0.0.1:${server.address().port}/`);
    const get = (expr) => tab.evaluate(expr);
    await waitFor(() => get('window.connected >= 1'), { timeout: 10000, what: 'browser connected' });
    await publishOk(h, `${space}/news`, 'hello');
    await waitFor(() => get('window.types.includes("hello")'), { timeout: 10000, what: 'event received' });
    await waitFor(() => get('window.disconnects.length >= 1'), { timeout: 10000, what: 'unauthorized at exp' });
    assert.deepEqual(await get('window.disconnects'), ['unauthorized']);
    // The reconnect presents the spent ticket: 401, and EventSource gives up.
    await waitFor(() => get('window.es.readyState === 2'), { timeout: 10000, what: 'EventSource CLOSED' });
    assert.equal(await get('window.connected'), 1);
  } finally {
    await context.close();
    server.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}, { timeout: 60000 });
