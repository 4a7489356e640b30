// A real browser and JWT auth: headless Chromium opens an EventSource with a
// ticket (POST /ticket with the JWT; the ticket goes in the URL, the JWT does
// not), receives events of its space, and is disconnected with
// `unauthorized` when the token expires; its automatic reconnect reuses the
// spent ticket and is refused, so the EventSource ends CLOSED.
//
// Run from the repo root: npm ci --prefix tests/browser && node --test tests/browser/
import assert from 'node:assert/strict';
import { openPage } from './lib/browser.mjs';
import { htest, startHerald, publishOk, request, uid, waitFor } from '../integration/lib/herald.mjs';
import { mint, claims } from '../integration/lib/jwt.mjs';

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
  const h = await startHerald({
    extraArgs: ['--jwt-hs256-secret', SECRET],
    config: { sse: { retry_ms: 500 }, auth: { jwt_leeway_s: 0, expiring_notice_s: 0 } },
  });
  const space = uid('sp');
  const token = mint('HS256', SECRET, claims({ spaces: [space] }, 4));
  const t = await request(h.pub + '/ticket', { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  assert.equal(t.status, 200, t.text);
  const url = `http://127.0.0.1:${h.pubPort}/sse?space=${space}&channel=news&ticket=${t.json.ticket}`;

  const browser = await openPage(page(url));
  try {
    const { get } = browser;
    await waitFor(() => get('window.connected >= 1'), { timeout: 10000, what: 'browser connected' });
    await publishOk(h, { space, channel: 'news' }, 'hello');
    await waitFor(() => get('window.types.includes("hello")'), { timeout: 10000, what: 'event received' });
    await waitFor(() => get('window.disconnects.length >= 1'), { timeout: 10000, what: 'unauthorized at exp' });
    assert.deepEqual(await get('window.disconnects'), ['unauthorized']);
    // The reconnect presents the spent ticket: 401, and EventSource gives up.
    await waitFor(() => get('window.es.readyState === 2'), { timeout: 10000, what: 'EventSource CLOSED' });
    assert.equal(await get('window.connected'), 1);
  } finally {
    await browser.close();
  }
}, { timeout: 60000 });
