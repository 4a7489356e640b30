// Issue 10: the original es-web-notify browser client, as it behaves, against
// herald in headless Chromium. The page subscribes with an XHR POST / and reads
// the '' framed stream on each progress event (split on '', read <N>, take the
// next part), reconnects as soon as a stream ends, and runs the `alive.html`
// example's /alive loop: every @SERVER@ frame sets connid, secret and timeout,
// and the loop posts /alive `timeout - 3000` ms later, assigning whatever
// `response.json()` yields. It sends `X-Requested-With`, as jQuery-style
// clients do, so the CORS preflight must allow it.
//
// Across several stream timeouts and exhausted /alive resets the page must see
// no event twice, and neither /alive nor POST / may be called in a storm.
import assert from 'node:assert/strict';
import { openPage } from './lib/browser.mjs';
import { htest, startHerald, publishOk, uid, waitFor, delay } from '../integration/lib/herald.mjs';

function page(heraldPort, topic) {
  return `<!doctype html><meta charset="utf-8"><title>es-web XHR client</title>
<script>
  const base = 'http://127.0.0.1:${heraldPort}/';
  window.ids = []; window.connects = 0; window.subscribes = 0; window.aliveCalls = 0;
  window.aliveKept = 0; window.ends = 0; window.server = [];
  let connId, connSecret, connTimeout, aliveTimer, streaming = false;

  function onFrame(text) {
    const f = JSON.parse(text);
    if (f.ep.emitted === '@SERVER@') {           // as the original example: any @SERVER@ frame
      window.server.push(f.e.type);
      if (f.e.type === 'connected') window.connects += 1;
      connId = f.e.detail.connid; connSecret = f.e.detail.secret; connTimeout = f.e.detail.timeout;
      aliveLoop();
      return;
    }
    if (f.id) window.ids.push(f.id);
  }

  function aliveLoop() {
    clearTimeout(aliveTimer);
    aliveTimer = setTimeout(() => {
      if (!streaming) return;
      window.aliveCalls += 1;
      fetch(base + 'alive', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                              body: JSON.stringify({ connid: connId, secret: connSecret }) })
        .then((r) => r.json())
        .then((d) => { connId = d.connid; connSecret = d.secret; connTimeout = d.timeout; })
        .catch(() => { window.aliveKept += 1; });
      aliveLoop();
    }, connTimeout - 3000);
  }

  function subscribe() {
    window.subscribes += 1;
    const xhr = new XMLHttpRequest();
    let seen = 0, mem = '';
    xhr.open('POST', base, true);
    xhr.setRequestHeader('Content-Type', 'application/json');
    xhr.setRequestHeader('X-Requested-With', 'XMLHttpRequest');
    xhr.onprogress = () => {
      streaming = true;
      let text = mem + xhr.responseText.substring(seen);
      seen = xhr.responseText.length;
      mem = '';
      // ''<N>''<json> ... ; ''0'' is a heartbeat.
      for (;;) {
        if (!text.startsWith("''")) { mem = text; break; }
        const j = text.indexOf("''", 2);
        if (j < 0) { mem = text; break; }
        const n = Number(text.slice(2, j));
        if (text.length < j + 2 + n) { mem = text; break; }
        if (n > 0) onFrame(text.substr(j + 2, n));
        text = text.slice(j + 2 + n);
        if (text.length === 0) break;
      }
    };
    xhr.onreadystatechange = () => {
      if (xhr.readyState !== 4) return;
      streaming = false;
      window.ends += 1;
      if (xhr.status >= 200 && xhr.status < 300) subscribe();   // reconnect at once
      else setTimeout(subscribe, 5000);
    };
    xhr.send(JSON.stringify({ clid: 'xhr', ep: [${JSON.stringify(topic)}] }));
  }
  subscribe();
</script>`;
}

htest('browser: the original XHR client across stream timeouts and /alive resets sees no event twice and sends no request storm', async () => {
  // Two workers: a reconnect may land on the other one, whose queue still
  // holds events the first already delivered (the duplicate of issue 10.1).
  const h = await startHerald({ workers: 2, config: { stream: { timeout_ms: 4000, max_alive_count: 2 } } });
  const topic = `xhr/${uid('t')}/#`;
  const browser = await openPage(page(h.pubPort, topic));
  try {
    const { get } = browser;
    await waitFor(() => get('window.connects >= 1'), { timeout: 10000, what: 'connected' });
    const t0 = Date.now();
    let stop = false;
    let n = 0;
    const publisher = (async () => {
      while (!stop) {
        await publishOk(h, topic.replace('#', `e${n}`), 'ev', { n });
        n += 1;
        await delay(50);
      }
    })();
    // Each stream lives 4 s plus the two /alive resets (~2 s): wait for three ends.
    await waitFor(() => get('window.ends >= 3 && window.connects >= 4'), { timeout: 40000, interval: 200, what: 'three stream timeouts and reconnects' });
    stop = true;
    await publisher;
    const elapsedS = (Date.now() - t0) / 1000;
    const ids = await get('window.ids');
    assert.ok(ids.length > 20, `events arrived: ${ids.length} of ${n}`);
    assert.equal(new Set(ids).size, ids.length, 'no event seen twice');
    const seqs = ids.map((id) => Number(id.split('-')[1]));
    assert.deepEqual([...seqs].sort((a, b) => a - b), seqs, 'in publish order');

    const aliveCalls = await get('window.aliveCalls');
    const subscribes = await get('window.subscribes');
    const ends = await get('window.ends');
    // One /alive per second at most (timeout - 3000 ms), one subscribe per stream end.
    assert.ok(aliveCalls <= elapsedS + 5, `${aliveCalls} /alive calls in ${elapsedS.toFixed(1)} s`);
    assert.ok(subscribes <= ends + 1, `${subscribes} subscribes for ${ends} stream ends`);
    // /alive failed once resets ran out, and the page kept its state.
    assert.ok((await get('window.aliveKept')) >= 1, 'Max alive reached was met and survived');
    assert.ok((await get('window.server')).includes('disconnect'), 'streams ended with a disconnect frame');
  } finally {
    await browser.close();
  }
}, { timeout: 90000 });
