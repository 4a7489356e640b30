// Long-polling helpers for the integration tests: GET/POST /poll with the
// harness's request(), and a loop that keeps polling from the returned cursor.

import assert from 'node:assert/strict';
import { request } from './herald.mjs';

// A query string; array values repeat their key, undefined ones are left out.
export function qs(params) {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) sp.append(k, String(x));
  }
  return sp.toString();
}

// poll(h, params, {method, timeoutMs}) → the harness response ({status, json, ...}).
export function poll(h, params, { method = 'GET', timeoutMs = 30000 } = {}) {
  if (method === 'POST') {
    return request(h.pub + '/poll', { method: 'POST', body: params, timeoutMs });
  }
  return request(h.pub + '/poll?' + qs(params), { timeoutMs });
}

// Starts a session; asserts 200 and returns its first reply.
export async function pollStart(h, params, opts) {
  const r = await poll(h, params, opts);
  assert.equal(r.status, 200, `first poll → ${r.status} ${r.text}`);
  return r.json;
}

// Polls from `cursor` until `done(allEvents)` or the deadline. Returns
// {events, cursor, polls}. Every reply must be 200.
export async function pollLoop(h, session, { cursor, done, deadlineMs = 30000, timeout = 5000 }) {
  const events = [];
  let polls = 0;
  const deadline = Date.now() + deadlineMs;
  while (!done(events)) {
    if (Date.now() > deadline) throw new Error(`poll loop: deadline passed with ${events.length} events after ${polls} polls`);
    const r = await poll(h, { connid: session.connid, secret: session.secret, since: cursor, timeout });
    polls += 1;
    assert.equal(r.status, 200, `poll → ${r.status} ${r.text}`);
    events.push(...r.json.events);
    cursor = r.json.cursor;
  }
  return { events, cursor, polls };
}
