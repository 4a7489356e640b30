// A real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) opens an EventSource on herald, receives events, is
// disconnected by the server (sse.timeout_ms), reconnects by itself and
// resumes through Last-Event-ID with no loss and no duplicate.
//
// Run from the repo root: npm ci --prefix tests/browser && node --test tests/browser/
import assert from 'node:assert/strict';
import { openPage } from './lib/browser.mjs';
import { htest, startHerald, publishOk, uid, waitFor } from '../integration/lib/herald.mjs';

function page(heraldPort, topic) {
  return `<!doctype html><meta charset="utf-8"><title>herald EventSource</title>
<script>
  window.ids = []; window.types = []; window.connected = 0; window.disconnects = []; window.errors = 0; window.resets = 0;
  const es = new EventSource('http://127.0.0.1:${heraldPort}/sse?clid=browser&topic=' + encodeURIComponent(${JSON.stringify(topic)}));
  es.onmessage = (m) => { window.ids.push(m.lastEventId); window.types.push(JSON.parse(m.data).e.type); };
  es.addEventListener('connected', () => { window.connected += 1; });
  es.addEventListener('disconnect', (m) => { window.disconnects.push(JSON.parse(m.data).e.detail.reason); });
  es.addEventListener('reset', () => { window.resets += 1; });
  es.onerror = () => { window.errors += 1; };
</script>`;
}

htest('browser: EventSource receives events, is kicked by the server, reconnects and resumes via Last-Event-ID without loss', async () => {
  const h = await startHerald({ config: { sse: { timeout_ms: 1500, retry_ms: 1000 } } });
  const topic = `browser/${uid('t')}/+`;
  const emit = (n) => topic.replace('+', `e${n}`);

  const browser = await openPage(page(h.pubPort, topic));
  try {
    const { get } = browser;
    await waitFor(() => get('window.connected >= 1'), { timeout: 10000, what: 'browser connected' });

    const sent = [];
    let n = 0;
    const publishSome = async (k) => {
      for (let i = 0; i < k; i++) sent.push((await publishOk(h, emit(n++), 'ev', { n })).id);
    };
    await publishSome(5);
    await waitFor(async () => (await get('window.ids.length')) >= 5, { timeout: 10000, what: '5 events' });

    // The server ends the stream after 1.5 s; publish while the browser is away.
    await waitFor(() => get('window.disconnects.length >= 1'), { timeout: 10000, what: 'server-side disconnect' });
    await publishSome(5);
    await waitFor(() => get('window.connected >= 2'), { timeout: 10000, what: 'automatic reconnect' });
    // Live after the resume, and through a second kick and resume.
    await publishSome(5);
    await waitFor(() => get('window.disconnects.length >= 2'), { timeout: 10000, what: 'second disconnect' });
    await publishSome(5);
    await waitFor(() => get('window.connected >= 3'), { timeout: 10000, what: 'second reconnect' });
    await publishSome(5);
    await waitFor(async () => (await get('window.ids.length')) >= sent.length, { timeout: 10000, what: `${sent.length} events` });

    assert.deepEqual(await get('window.ids'), sent, 'every event exactly once, in order');
    assert.deepEqual(await get('window.disconnects.slice(0, 2)'), ['timeout', 'timeout']);
    assert.equal(await get('window.resets'), 0);
    // The reconnect really resumed: the browser sent Last-Event-ID.
    const d = await h.connections('clid=browser&details=true');
    assert.equal(d.connections.length, 1);
    const lei = Object.entries(d.connections[0].headers).find(([k]) => k.toLowerCase() === 'last-event-id');
    assert.ok(lei && sent.includes(lei[1]), `Last-Event-ID header: ${JSON.stringify(d.connections[0].headers)}`);
    assert.ok((await h.state()).events.replayed >= 5, 'missed events were replayed');
  } finally {
    await browser.close();
  }
}, { timeout: 90000 });
