// Issue 9 A.4: who may read what, on every path. A table of protected events
// (a bound ACL publish, a space channel, a whisper to another connection, the
// presence of a space connection) × ways to ask (es-web stream, SSE, poll
// first request, held poll, poll follow-ups; each also resumed from before
// the history: Last-Event-ID, last_event_id, since; wildcard filters) × askers
// (anonymous, wrong user, pending auth, expired token, right user). The right
// user gets what it may read; nobody else ever gets any of it.
//
// One server per asker kind. Every asker connection also listens to a marker
// it may read: once the `end` marker arrives, everything published before it
// that was going to reach the connection has (one connection's events arrive
// in publish order). Pending askers get nothing at all, not even the marker:
// their barrier is the `disconnect` `unauthorized` at the auth timeout.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { htest, startHerald, publishOk, request, tmpFile, delay, waitFor } from './lib/herald.mjs';
import { subscribe } from './lib/esweb_client.mjs';
import { sseConnect } from './lib/sse_client.mjs';
import { qs } from './lib/poll_client.mjs';
import { mint, claims, nowS } from './lib/jwt.mjs';

const SECRET = 'authz-secret-0123456789abcdef012345';
const AUTH_TIMEOUT_MS = 3000;
const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const bindKeyFile = tmpFile('authz-bind.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }));
const aclFile = tmpFile('authz-acl.json', JSON.stringify([
  { ep: 'orders/42', owner: 'alice', pub: ['bob'], sub: ['carol'] },
]));

function bindKey(uid) {
  return crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_PADDING },
    Buffer.from(JSON.stringify({ iat: Date.now(), uid }))).toString('base64');
}
const token = (spaces, ttlS = 600) => mint('HS256', SECRET, claims({ spaces, sub: `u-${spaces[0]}` }, ttlS));
const bearer = (t) => (t ? { Authorization: `Bearer ${t}` } : {});

function startServer() {
  return startHerald({
    config: {
      auth: {
        jwt_hs256_secret: SECRET, jwt_leeway_s: 0, timeout_ms: AUTH_TIMEOUT_MS,
        bind_key_private_key: bindKeyFile, acl_file: aclFile,
      },
    },
  });
}

// --- What is protected, and what may read it -------------------------------
// By type (bound-*, space-*, whisper-*), or by topic: anything in space
// `shop` but the `end` marker, presence of `vip` (a space connection).
const isPresence = (ev) => ev.ep.emitted.includes('@CONNECTION@/');
const isProtected = (ev) => /^(bound|space|whisper)-/.test(ev.e.type) ||
  /vip/.test(ev.ep.emitted) || (ev.ep.emitted.startsWith('$space/shop/') && ev.e.type !== 'end');

async function publishHistory(h) {
  const start = await publishOk(h, 'start', 'start');
  await boundPublish(h, 'bound-h');
  await publishOk(h, { space: 'shop', channel: 'orders' }, 'space-h');
  return start.id;
}

async function boundPublish(h, type) {
  const r = await request(h.priv + '/event', {
    method: 'POST', headers: { Authorization: `Bearer ${h.token}` },
    body: { ep: [{ topic: 'orders/42', binded: true }], e: { type }, bind_key: bindKey('bob') },
  });
  assert.equal(r.status, 200, r.text);
}

// --- Three transports behind one shape --------------------------------------
// open(h, spec) → { label, status, connid, events() (application events,
// presence included), closedPromise, finish() (waits for the barrier) }.
function streamAsker(h, spec) {
  const body = { clid: spec.clid || 'asker', ep: spec.ep || [] };
  if (spec.space) Object.assign(body, { space: spec.space, channels: spec.channels });
  if (spec.bindKey) body.bind_key = spec.bindKey;
  if (spec.since) body.last_event_id = spec.since;
  const s = subscribe(h, body, { headers: bearer(spec.token), label: spec.label });
  return {
    spec,
    async ready() {
      const r = await s.response;
      this.status = r.status;
      if (r.status !== 200) return;
      this.connid = (await s.connected).connid;
    },
    events: () => s.frames.slice(1).filter((f) => f.id !== undefined),
    disconnected: () => s.frames.some((f) => f.e && f.e.type === 'disconnect'),
    close: () => s.close(),
  };
}

function sseAsker(h, spec) {
  const query = spec.space ? { space: spec.space, channel: spec.channels, clid: spec.clid } : { topic: spec.ep, clid: spec.clid };
  const s = sseConnect(h, query, { headers: bearer(spec.token), label: spec.label, lastEventId: spec.since });
  return {
    spec,
    async ready() {
      const r = await s.response;
      this.status = r.status;
      if (r.status !== 200) return;
      this.connid = (await s.connected).connid;
    },
    events: () => s.messages().map((m) => m.json),
    disconnected: () => s.named('disconnect').length > 0,
    close: () => s.close(),
  };
}

// Poll: the first request (with `since` when resuming), then a held poll
// issued before the live phase, then follow-ups until the barrier. Every
// answer's events are kept with the way they came.
function pollAsker(h, spec) {
  const a = { spec, got: [], gone: false, sawDisconnect: false };
  const take = (way, json) => {
    for (const ev of json.events) {
      if (ev.e && ev.e.type === 'disconnect') a.sawDisconnect = true;
      if (ev.id !== undefined) a.got.push({ ...ev, way });
    }
    a.cursor = json.cursor;
  };
  const params = spec.space ? { space: spec.space, channel: spec.channels, clid: spec.clid } : { topic: spec.ep, clid: spec.clid };
  a.ready = async () => {
    const r = await request(`${h.pub}/poll?${qs({ ...params, since: spec.since })}`, { headers: bearer(spec.token) });
    a.status = r.status;
    if (r.status !== 200) return;
    a.connid = r.json.connid;
    a.secret = r.json.secret;
    take('first', r.json);
  };
  const next = (timeout) => request(`${h.pub}/poll?${qs({ connid: a.connid, secret: a.secret, since: a.cursor, timeout })}`, { timeoutMs: 15000 });
  a.hold = () => { a.held = next(10000); };
  a.drain = async (until) => {
    const held = await a.held;
    if (held.status === 200) take('held', held.json); else a.gone = true;
    for (let i = 0; i < 20 && !a.gone && !until(); i++) {
      const r = await next(2000);
      if (r.status === 410) a.gone = true;
      else { assert.equal(r.status, 200, r.text); take('follow-up', r.json); }
    }
  };
  a.events = () => a.got;
  a.disconnected = () => a.sawDisconnect || a.gone;
  a.close = () => {};
  return a;
}

const OPEN = { stream: streamAsker, sse: sseAsker, poll: pollAsker };
const TRANSPORTS = Object.keys(OPEN);

// Every transport, live and resumed from before the history.
function everyWay(base, since) {
  const out = [];
  for (const transport of TRANSPORTS) {
    for (const resume of [false, true]) {
      out.push({ ...base, transport, since: resume ? since : undefined, label: `${base.label}/${transport}${resume ? '/resume' : ''}` });
    }
  }
  return out;
}

const PLAIN_FILTER_SETS = [
  ['#'],
  ['+/+/orders', '+/shop/#', '+/+/@CONNECTION@/vip', '+/42', '+/w', 'mark'],
  ['orders/42', 'pub/w', 'shop/orders', 'shop/#', '@CONNECTION@/vip', '@CONNECTION@/#', 'mark'],
];
const SPACE_CHANNELS = [['orders', '@CONNECTION@/vip', 'mark'], ['#']];

// Opens the askers, publishes the live events and the barrier, waits for it.
async function runMatrix(h, specs, { since, pending = false, rightUser = false }) {
  const askers = specs.map((spec) => OPEN[spec.transport](h, spec));
  await Promise.all(askers.map((a) => a.ready()));
  const open = askers.filter((a) => a.status === 200);
  // Victims of the whispers: a right user in the space, a plain subscriber.
  const victims = [
    sseAsker(h, { space: 'shop', channels: ['orders'], token: token(['shop']), label: 'victim-space' }),
    sseAsker(h, { ep: ['pub/w'], label: 'victim-plain' }),
  ];
  await Promise.all(victims.map((v) => v.ready()));
  for (const a of open.filter((x) => x.spec.transport === 'poll')) a.hold();
  await delay(100);  // lets the held polls reach the server (they hold either way)

  await boundPublish(h, 'bound-l');
  await publishOk(h, { space: 'shop', channel: 'orders' }, 'space-l');
  await publishOk(h, [{ space: 'shop', channel: 'orders', whisper: victims[0].connid }], 'whisper-space');
  await publishOk(h, [{ topic: 'pub/w', whisper: victims[1].connid }], 'whisper-plain');
  if (rightUser) {
    for (const a of open) {
      const target = a.spec.bindKey ? { topic: 'mark', whisper: a.connid } : { space: 'shop', channel: 'orders', whisper: a.connid };
      await publishOk(h, [target], `whisper-self-${a.connid}`);
    }
  }
  // The space connection `vip` comes and goes: its presence stays in the space.
  const vip = sseAsker(h, { space: 'shop', channels: ['x'], clid: 'vip', token: token(['shop']), label: 'vip' });
  await vip.ready();
  vip.close();
  await publishOk(h, ['mark', { space: 'shop', channel: 'mark' }, { space: 'mall', channel: 'mark' }], 'end');

  const sawEnd = (a) => () => a.events().some((ev) => ev.e.type === 'end');
  const barrier = pending ? (a) => () => a.disconnected() : sawEnd;
  await Promise.all(open.map(async (a) => {
    if (a.drain) await a.drain(barrier(a));
    else await waitFor(barrier(a), { timeout: AUTH_TIMEOUT_MS + 5000, what: `${a.spec.label} barrier` });
  }));
  for (const a of open) a.close();
  for (const v of victims) v.close();
  return { askers, open };
}

function assertNothingProtected(askers) {
  for (const a of askers) {
    const leaked = a.events().filter(isProtected);
    assert.deepEqual(leaked.map((ev) => `${ev.e.type}@${ev.ep.emitted}${ev.way ? ' via ' + ev.way : ''}`), [],
      `${a.spec.label} (${a.spec.transport}) must not read protected events`);
  }
}

htest('authz matrix: anonymous askers never read bound, space, whisper or space-presence events', async () => {
  const h = await startServer();
  const since = await publishHistory(h);
  const specs = [];
  PLAIN_FILTER_SETS.forEach((ep, i) => specs.push(...everyWay({ label: `anon-f${i}`, ep }, since)));
  // "binded" without a bind key is a plain filter.
  specs.push(...everyWay({ label: 'anon-binded', ep: [{ topic: 'orders/42', binded: true }, 'mark'] }, since)
    .filter((s) => s.transport === 'stream'));
  const { open } = await runMatrix(h, specs, { since });
  assert.equal(open.length, specs.length, 'every anonymous asker is admitted');
  assertNothingProtected(open);
  // Naming the namespace directly is refused, on every transport.
  for (const [path, opts] of [
    [`/sse?topic=${encodeURIComponent('$space/shop/orders')}`, {}],
    [`/poll?topic=${encodeURIComponent('$space/shop/#')}`, {}],
    ['/', { method: 'POST', body: { ep: ['$space/shop/orders'] } }],
  ]) {
    const r = await request(h.pub + path, opts);
    assert.equal(r.status, 400, `${path} → ${r.status}`);
    assert.match(r.statusMessage, /reserved/);
  }
});

htest('authz matrix: wrong users (another bind-key user, another space\'s token) never read them', async () => {
  const h = await startServer();
  const since = await publishHistory(h);
  const specs = [];
  for (const [i, channels] of SPACE_CHANNELS.entries()) {
    specs.push(...everyWay({ label: `mall-c${i}`, space: 'mall', channels: [...channels, 'mark'], token: token(['mall']) }, since));
  }
  // Refused at the door: another space's token asking for `shop` (401), a
  // bind-key user the ACL does not list subscribing bound (403).
  const refused = [
    ...everyWay({ label: 'mall-in-shop', space: 'shop', channels: ['orders'], token: token(['mall']) }, since),
    ...everyWay({ label: 'mallory', ep: [{ topic: 'orders/42', binded: true }, 'mark'], bindKey: bindKey('mallory') }, since)
      .filter((s) => s.transport === 'stream'),
  ];
  const { askers, open } = await runMatrix(h, [...specs, ...refused], { since });
  assert.deepEqual(askers.slice(0, specs.length).filter((a) => a.status !== 200).map((a) => `${a.spec.label}: ${a.status}`), []);
  for (const a of askers.slice(specs.length)) assert.equal(a.status, a.spec.bindKey ? 403 : 401, a.spec.label);
  assertNothingProtected(open);
});

htest('authz matrix: pending auth (space connection without a token) reads nothing until the auth timeout closes it', async () => {
  const h = await startServer();
  const since = await publishHistory(h);
  const specs = [];
  for (const [i, channels] of SPACE_CHANNELS.entries()) {
    specs.push(...everyWay({ label: `pending-c${i}`, space: 'shop', channels }, since));
  }
  const { open } = await runMatrix(h, specs, { since, pending: true });
  assert.equal(open.length, specs.length);
  assertNothingProtected(open);
  for (const a of open) assert.ok(a.disconnected(), `${a.spec.label} closed at the auth timeout`);
});

htest('authz matrix: expired tokens are refused at the door, and a token that expires closes the connection first', async () => {
  const h = await startServer();
  const since = await publishHistory(h);
  const expired = mint('HS256', SECRET, { ...claims({ spaces: ['shop'] }), exp: nowS() - 5 });
  const refused = everyWay({ label: 'expired', space: 'shop', channels: ['orders', '#'], token: expired }, since);
  // Valid for 2 to 3 s from now whatever the clock's fraction (a 1 s token
  // minted late in a second could expire before the connections were made).
  const expiring = mint('HS256', SECRET, { ...claims({ spaces: ['shop'], sub: 'u-shop' }), exp: Math.ceil(Date.now() / 1000) + 2 });
  const short = everyWay({ label: 'expiring', space: 'shop', channels: ['orders', '@CONNECTION@/vip'], token: expiring }, since)
    .filter((s) => !s.since);  // resumed while still valid, history would be theirs
  const askers = [...refused, ...short].map((spec) => OPEN[spec.transport](h, spec));
  await Promise.all(askers.map((a) => a.ready()));
  for (const a of askers.slice(0, refused.length)) assert.equal(a.status, 401, a.spec.label);
  const live = askers.slice(refused.length);
  for (const a of live) assert.equal(a.status, 200, a.spec.label);
  // Wait for the expiry to close them (the poll session: its next poll is answered with disconnect or 410).
  for (const a of live.filter((x) => x.spec.transport === 'poll')) a.hold();
  for (const a of live.filter((x) => x.spec.transport === 'poll')) await a.drain(() => a.disconnected());
  await waitFor(() => live.every((a) => a.disconnected()), { timeout: 5000, what: 'expired connections closed' });
  await boundPublish(h, 'bound-l');
  await publishOk(h, { space: 'shop', channel: 'orders' }, 'space-l');
  for (const a of live) {
    if (a.spec.transport !== 'poll') continue;
    const r = await request(`${h.pub}/poll?${qs({ connid: a.connid, secret: a.secret, since: a.cursor, timeout: 0 })}`);
    assert.equal(r.status, 410, `${a.spec.label}: the expired session is gone`);
  }
  assertNothingProtected(live);
  for (const a of live) a.close();
});

htest('authz matrix: the right user reads exactly what it may, on every path', async () => {
  const h = await startServer();
  const since = await publishHistory(h);
  const specs = [
    ...everyWay({ label: 'carol', ep: [{ topic: 'orders/42', binded: true }, 'mark'], bindKey: bindKey('carol') }, since)
      .filter((s) => s.transport === 'stream'),
  ];
  for (const [i, channels] of SPACE_CHANNELS.entries()) {
    specs.push(...everyWay({ label: `shop-c${i}`, space: 'shop', channels, token: token(['shop']) }, since));
  }
  const { open } = await runMatrix(h, specs, { since, rightUser: true });
  assert.equal(open.length, specs.length);
  for (const a of open) {
    const resumed = Boolean(a.spec.since);
    const expected = a.spec.bindKey
      ? ['bound-l', `whisper-self-${a.connid}`, ...(resumed ? ['bound-h'] : [])]
      : ['space-l', `whisper-self-${a.connid}`, ...(resumed ? ['space-h'] : [])];
    const protectedEvents = a.events().filter(isProtected);
    const got = protectedEvents.filter((ev) => !isPresence(ev)).map((ev) => ev.e.type);
    assert.deepEqual([...new Set(got)].sort(), expected.sort(), `${a.spec.label}: ${JSON.stringify(got)}`);
    assert.equal(new Set(got).size, got.length, `${a.spec.label}: each once`);
    // vip's presence: inside the space, to the space's connections only.
    const presence = protectedEvents.filter(isPresence);
    for (const ev of presence) assert.match(ev.ep.emitted, /^\$space\/shop\/@CONNECTION@\//, a.spec.label);
    const vipConnect = presence.some((ev) => ev.e.type === 'connect' && ev.ep.emitted === '$space/shop/@CONNECTION@/vip');
    assert.equal(vipConnect, !a.spec.bindKey, `${a.spec.label}: vip's connect event`);
  }
});
