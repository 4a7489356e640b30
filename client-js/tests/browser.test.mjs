// herald-client in headless Chromium (Debian's chromium via playwright-core)
// against the real herald: the EventSource path with a ticket, fallback to
// long polling behind a buffering nginx, two tabs sharing one connection
// through the leader's close, a herald restart, and offline/online. The page
// loads the browser bundle of the packed package (run.sh).
import assert from 'node:assert/strict';
import {
  htest, startHerald, publishOk, uid, waitFor, delay, request, startNginx, servePages, launchBrowser, restartHerald,
} from './lib.mjs';
import { mint, claims } from '../../tests/integration/lib/jwt.mjs';

const SECRET = 'client-js-test-secret-0123456789abcdef';

function page(url, opts) {
  return `<!doctype html><meta charset="utf-8"><title>herald-client</title>
<script type="module">
  import { HeraldClient } from '/herald-client.js';
  const opts = ${JSON.stringify(opts)};
  if (opts.tokenValue) { const t = opts.tokenValue; opts.token = async () => { window.tokens += 1; return t; }; }
  // holdable: while window.holding, a stream connection waits for window.release().
  if (opts.holdable) {
    Object.assign(window, { holding: false, held: 0 });
    opts.fetch = async (url, init) => {
      if (window.holding && new URL(url).pathname === '/') {
        window.held += 1;
        await new Promise((r) => { window.release = r; });
      }
      return fetch(url, init);
    };
  }
  Object.assign(window, { ids: [], states: [], opens: [], resets: [], disconnects: [], errors: [], tokens: 0 });
  const c = window.client = new HeraldClient(${JSON.stringify(url)}, opts);
  c.on('message', (m) => ids.push(m.id));
  c.on('state', (s) => states.push(s));
  c.on('open', (o) => opens.push(o.transport));
  c.on('reset', (r) => resets.push(r.reason));
  c.on('disconnect', (d) => disconnects.push(d.reason));
  c.on('error', (e) => errors.push(e.message));
</script>`;
}

async function openTab(context, url) {
  const tab = await context.newPage();
  await tab.goto(url);
  return { tab, get: (expr) => tab.evaluate(expr) };
}

async function publishN(h, topic, n) {
  const ids = [];
  for (let i = 0; i < n; i++) ids.push((await publishOk(h, topic, 'ev', { i })).id);
  return ids;
}

const idsOf = (t) => t.get('window.ids');
const hasAll = (t, ids) => async () => { const got = await idsOf(t); return ids.every((id) => got.includes(id)); };

htest('browser: EventSource with a ticket (token kept out of the URL), kicked, resumes with a fresh ticket and no loss', async () => {
  const h = await startHerald({ config: { auth: { jwt_hs256_secret: SECRET } } });
  const space = uid('s');
  const token = mint('HS256', SECRET, claims({ spaces: [space] }));
  const pages = await servePages(page(h.pub, { space, channels: ['news'], clid: 'sse-tab', tokenValue: token, shareTabs: false }));
  const { context, close } = await launchBrowser();
  try {
    const t = await openTab(context, pages.url);
    await waitFor(() => t.get('window.client.state === "open"'), { timeout: 10000, what: 'open' });
    assert.deepEqual(await t.get('window.opens'), ['sse']);
    const sent = await publishN(h, { space, channel: 'news' }, 3);
    await waitFor(hasAll(t, sent), { what: 'events over SSE' });
    const d = await h.connections('clid=sse-tab&details=true');
    assert.equal(d.connections[0].transport, 'sse');
    assert.ok(!JSON.stringify(d.connections[0]).includes(token), 'the JWT is not in the request');
    await request(`${h.priv}/disconnect`, { method: 'POST', headers: { Authorization: `Bearer ${h.token}` }, body: { clid: 'sse-tab' } });
    sent.push(...await publishN(h, { space, channel: 'news' }, 3));
    await waitFor(async () => (await t.get('window.opens.length')) >= 2, { timeout: 10000, what: 'reconnect' });
    sent.push(...await publishN(h, { space, channel: 'news' }, 2));
    await waitFor(hasAll(t, sent), { what: 'all events' });
    assert.deepEqual(await idsOf(t), sent, 'every event once, in order');
    assert.deepEqual(await t.get('window.disconnects'), ['kicked']);
    assert.ok((await t.get('window.tokens')) >= 2, 'a new ticket for the reconnect');
    assert.deepEqual(await t.get('window.errors'), []);
  } finally {
    await close();
    pages.close();
  }
}, { timeout: 60000 });

htest('browser: behind nginx that buffers streams, /selftest moves the client to long polling, remembered for the origin', async () => {
  const h = await startHerald();
  const proxy = await startNginx(h.pubPort);
  const topic = `cjb/${uid('f')}`;
  const pages = await servePages(page(proxy.url, { topics: [topic], shareTabs: false }));
  const { context, close } = await launchBrowser();
  try {
    const t = await openTab(context, pages.url);
    await waitFor(() => t.get('window.client.state === "open"'), { timeout: 15000, what: 'open' });
    assert.equal(await t.get('window.client.transport'), 'poll');
    const sent = await publishN(h, topic, 3);
    await waitFor(hasAll(t, sent), { what: 'events over polling through nginx' });
    assert.match(await t.get(`localStorage.getItem('herald-transport:${proxy.url}')`), /^poll \d+$/);
    assert.deepEqual(await idsOf(t), sent);
  } finally {
    await close();
    pages.close();
  }
}, { timeout: 60000 });

htest('browser: two tabs share one connection; the follower takes over when the leader closes, losing and doubling nothing', async () => {
  const h = await startHerald();
  const topic = `cjb/${uid('tabs')}`;
  const clid = uid('tabs');
  const pages = await servePages(page(h.pub, { topics: [topic], clid, transports: ['sse', 'poll'], selftest: false }));
  const { context, close } = await launchBrowser();
  try {
    const a = await openTab(context, pages.url);
    await waitFor(() => a.get('window.client.state === "open"'), { timeout: 10000, what: 'tab A open' });
    const b = await openTab(context, pages.url);
    await waitFor(() => b.get('window.client.state === "open"'), { timeout: 10000, what: 'tab B sees open' });
    assert.equal((await h.connections(`clid=${clid}`))[clid], 1, 'one connection for two tabs');
    const sent = await publishN(h, topic, 3);
    await waitFor(hasAll(a, sent), { what: 'tab A events' });
    await waitFor(hasAll(b, sent), { what: 'tab B events' });
    assert.deepEqual(await b.get('window.opens'), [], 'tab B never connected itself');

    // Publish while the leader goes away: B must end with every event once.
    const during = publishN(h, topic, 10);
    await delay(30);
    await a.tab.close();
    sent.push(...await during);
    await waitFor(async () => (await b.get('window.opens.length')) >= 1, { timeout: 10000, what: 'tab B leads' });
    sent.push(...await publishN(h, topic, 3));
    await waitFor(hasAll(b, sent), { what: 'tab B has everything' });
    await delay(200);
    assert.deepEqual(await idsOf(b), sent, 'every event once, in order, across the hand-over');
    await waitFor(async () => (await h.connections(`clid=${clid}`))[clid] === 1, { what: 'one connection again' });
  } finally {
    await close();
    pages.close();
  }
}, { timeout: 60000 });

htest('browser: a follower tab that never got an event takes over from the cursor of the leader\'s connection; nothing published during the hand-over is lost', async () => {
  const h = await startHerald();
  const topic = `cjb/${uid('tc')}`;
  const clid = uid('tc');
  const pages = await servePages(page(h.pub, { topics: [topic], clid, transports: ['stream'], selftest: false, holdable: true }));
  const { context, close } = await launchBrowser();
  try {
    const a = await openTab(context, pages.url);
    await waitFor(() => a.get('window.client.state === "open"'), { timeout: 10000, what: 'tab A open' });
    const cursor = await a.get('window.client.lastEventId');
    assert.match(cursor, /^[0-9a-f]{8}-\d+$/, 'the leader resumes from its connected cursor');
    const b = await openTab(context, pages.url);
    await waitFor(async () => (await b.get('window.client.lastEventId')) === cursor, { timeout: 10000, what: 'tab B has the leader\'s cursor' });
    await b.get('window.holding = true');
    await a.tab.close();
    await waitFor(async () => (await b.get('window.held')) === 1, { timeout: 10000, what: 'tab B connecting' });
    const sent = await publishN(h, topic, 2); // between the two tabs' connections
    await b.get('window.release()');
    await waitFor(async () => (await b.get('window.opens.length')) === 1, { timeout: 10000, what: 'tab B leads' });
    sent.push(...await publishN(h, topic, 1));
    await waitFor(hasAll(b, sent), { what: 'tab B has everything' });
    await delay(200);
    assert.deepEqual(await idsOf(b), sent, 'every event once, in order');
    assert.deepEqual(await b.get('window.resets'), []);
  } finally {
    await close();
    pages.close();
  }
}, { timeout: 60000 });

htest('browser: reconnects across a herald restart (reset: epoch) and after offline/online with no loss', async () => {
  let h = await startHerald({ config: { sse: { retry_ms: 200 } } });
  const topic = `cjb/${uid('r')}`;
  const pages = await servePages(page(h.pub, { topics: [topic], shareTabs: false, selftest: false, backoff: { min: 200, max: 1000 } }));
  const { context, close } = await launchBrowser();
  try {
    const t = await openTab(context, pages.url);
    await waitFor(() => t.get('window.client.state === "open"'), { timeout: 10000, what: 'open' });
    const sent = await publishN(h, topic, 2);
    await waitFor(hasAll(t, sent), { what: 'events' });
    await h.stop('SIGTERM');
    h = await restartHerald(h);
    await waitFor(async () => (await t.get('window.opens.length')) >= 2, { timeout: 15000, what: 'reconnect after restart' });
    assert.deepEqual(await t.get('window.resets'), ['epoch']);
    sent.push(...await publishN(h, topic, 2));
    await waitFor(hasAll(t, sent), { what: 'events after restart' });

    await context.setOffline(true);
    await waitFor(() => t.get('window.client.state === "offline"'), { what: 'offline' });
    sent.push(...await publishN(h, topic, 3)); // missed while offline
    await context.setOffline(false);
    await waitFor(async () => (await t.get('window.opens.length')) >= 3, { timeout: 10000, what: 'reconnect when online' });
    sent.push(...await publishN(h, topic, 2));
    await waitFor(hasAll(t, sent), { what: 'events after online' });
    await delay(200);
    assert.deepEqual(await idsOf(t), sent, 'every event once, in order');
    assert.deepEqual(await t.get('window.errors'), []);
  } finally {
    await close();
    pages.close();
  }
}, { timeout: 60000 });

htest('browser: an es-web-notify page runs on herald-client/compat with the import changed', async () => {
  const h = await startHerald();
  const topic = `cjb/${uid('nps')}`;
  const pages = await servePages(`<!doctype html><meta charset="utf-8"><title>nps</title>
<script type="module">
  import { NoPollSubscriber } from '/herald-compat.js';
  window.frames_ = []; window.connected = 0; window.states = [];
  const sub = new NoPollSubscriber({ url: ${JSON.stringify(h.pub + '/')}, method: 'POST', data: { clid: 'nps_test', ep: [${JSON.stringify(topic)}] } },
    (response) => frames_.push(JSON.parse(response)), () => { connected += 1; }, (state) => states.push(state.value));
  sub.start();
  window.sub = sub;
</script>`);
  const { context, close } = await launchBrowser();
  try {
    const t = await openTab(context, pages.url);
    await waitFor(() => t.get('window.connected === 1'), { timeout: 10000, what: 'connected' });
    const sent = await publishN(h, topic, 2);
    await waitFor(async () => (await t.get('window.frames_.length')) >= 3, { what: 'frames' });
    const frames = await t.get('window.frames_');
    assert.equal(frames[0].e.type, 'connected');
    assert.deepEqual(frames.slice(1).map((f) => f.id), sent);
    await t.get('window.sub.abort()'); // drops the connection: it comes back and resumes
    sent.push(...await publishN(h, topic, 2));
    await waitFor(async () => (await t.get('window.frames_.filter((f) => f.id).length')) >= 4, { what: 'frames after abort' });
    assert.deepEqual((await t.get('window.frames_')).filter((f) => f.id).map((f) => f.id), sent);
    await t.get('window.sub.stop()');
    assert.equal(await t.get('window.states.at(-1)'), 0);
  } finally {
    await close();
    pages.close();
  }
}, { timeout: 60000 });
