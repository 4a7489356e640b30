// GET /metrics (issue 14 item 2): the Prometheus text exposition format
// 0.0.4, read with a real parser (the npm package parse-prometheus-text-format),
// every line also checked against the format's grammar (that parser is
// lenient), and the counters checked to move as subscribers come and go and
// events are published.
//
// Lives under tests/browser/ for its package.json (npm ci installs the parser).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import parsePrometheus from 'parse-prometheus-text-format';
import { htest, startHerald, publishOk, publish, request, waitFor, REPO_ROOT } from '../integration/lib/herald.mjs';
import { sseOpen, waitMessages } from '../integration/lib/sse_client.mjs';

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABELS = `\\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"(?:,(?=[a-zA-Z_]))?)*\\}`;
const SAMPLE_RE = new RegExp(`^${NAME}(?:${LABELS})? (?:[-+]?[0-9.]+(?:e[-+]?[0-9]+)?|\\+Inf|-Inf|NaN)$`);
const META_RE = new RegExp(`^# (?:HELP ${NAME} .*|TYPE ${NAME} (?:counter|gauge|histogram|summary|untyped))$`);

async function scrape(h, { token = h.token } = {}) {
  const r = await request(`${h.priv}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.ok(r.text.endsWith('\n'), 'the last line ends with a newline');
  for (const line of r.text.slice(0, -1).split('\n')) {
    assert.ok(SAMPLE_RE.test(line) || META_RE.test(line), `a valid exposition line: ${JSON.stringify(line)}`);
  }
  const families = new Map(parsePrometheus(r.text).map((f) => [f.name, f]));
  return {
    families,
    // One sample's value; labels must match exactly.
    value(name, labels = {}) {
      const f = families.get(name);
      assert.ok(f, `family ${name} present`);
      const m = f.metrics.find((s) => JSON.stringify(s.labels || {}) === JSON.stringify(labels));
      assert.ok(m, `${name}${JSON.stringify(labels)} present: ${JSON.stringify(f.metrics)}`);
      return Number(m.value);
    },
    histogram(name) {
      const f = families.get(name);
      assert.equal(f?.type, 'HISTOGRAM', `${name} is a histogram`);
      return f.metrics[0];
    },
  };
}

htest('/metrics: every family with its type, build_info names the version', async () => {
  const h = await startHerald();
  const m = await scrape(h);
  const types = {
    herald_build_info: 'GAUGE',
    herald_connections: 'GAUGE',
    herald_events_published_total: 'COUNTER',
    herald_deliveries_total: 'COUNTER',
    herald_closed_total: 'COUNTER',
    herald_rejected_total: 'COUNTER',
    herald_publish_to_write_seconds: 'HISTOGRAM',
    herald_resident_memory_bytes: 'GAUGE',
    herald_history_events: 'GAUGE',
    herald_uptime_seconds: 'GAUGE',
  };
  for (const [name, type] of Object.entries(types)) {
    assert.equal(m.families.get(name)?.type, type, `${name} is a ${type}`);
  }
  const version = fs.readFileSync(`${REPO_ROOT}/CMakeLists.txt`, 'utf8').match(/project\(herald VERSION ([0-9.]+)/)[1];
  const info = m.families.get('herald_build_info').metrics[0];
  assert.equal(info.labels.version, version);
  assert.equal(Number(info.value), 1);
  for (const transport of ['stream', 'sse', 'poll']) assert.equal(m.value('herald_connections', { transport }), 0);
  for (const reason of ['client', 'timeout', 'slow', 'shutdown', 'kicked', 'unauthorized']) {
    assert.equal(m.value('herald_closed_total', { reason }), 0);
  }
  for (const cause of ['limit_connections', 'bad_request']) assert.equal(m.value('herald_rejected_total', { cause }), 0);
  assert.ok(m.value('herald_resident_memory_bytes') > 1 << 20, 'RSS in bytes');
  const hist = m.histogram('herald_publish_to_write_seconds');
  assert.equal(hist.count, '0');
  assert.equal(hist.buckets['+Inf'], '0');
});

htest('/metrics: counters move with subscribers, publishes and rejections', async () => {
  const h = await startHerald();
  const before = await scrape(h);
  const s = await sseOpen(h, { topic: 'metrics/a' });
  await waitFor(async () => (await scrape(h)).value('herald_connections', { transport: 'sse' }) === 1,
    { what: 'herald_connections{transport="sse"} 1' });
  const N = 5;
  for (let i = 0; i < N; i++) await publishOk(h, 'metrics/a', 'tick', { i });
  await publishOk(h, 'metrics/nobody', 'tick', {});  // published, delivered to nobody
  await waitMessages(s, N);
  const bad = await publish(h, { ep: 'not-an-array', e: { type: 't' } });
  assert.equal(bad.status, 400);

  const after = await waitFor(async () => {
    const m = await scrape(h);
    return m.histogram('herald_publish_to_write_seconds').count === String(N) ? m : null;
  }, { what: `${N} publish→write observations` });
  assert.equal(after.value('herald_events_published_total') - before.value('herald_events_published_total'), N + 1);
  assert.equal(after.value('herald_deliveries_total') - before.value('herald_deliveries_total'), N);
  assert.equal(after.value('herald_history_events') - before.value('herald_history_events'), N + 1);
  assert.equal(after.value('herald_rejected_total', { cause: 'bad_request' }), 1);
  // The histogram is cumulative, ends with +Inf = count, and its sum is in seconds.
  const hist = after.histogram('herald_publish_to_write_seconds');
  // Sorted by value: Object.keys puts integer-like keys ("1", "5", "10") first.
  const le = (b) => (b === '+Inf' ? Infinity : Number(b));
  const bounds = Object.keys(hist.buckets).sort((a, b) => le(a) - le(b));
  assert.equal(bounds.at(-1), '+Inf');
  const counts = bounds.map((b) => Number(hist.buckets[b]));
  for (let i = 1; i < counts.length; i++) assert.ok(counts[i] >= counts[i - 1], `cumulative at le=${bounds[i]}`);
  assert.equal(counts.at(-1), N);
  assert.ok(Number(hist.sum) >= 0 && Number(hist.sum) < N * 10, `sum in seconds: ${hist.sum}`);

  s.close();
  const closed = await waitFor(async () => {
    const m = await scrape(h);
    return m.value('herald_connections', { transport: 'sse' }) === 0 ? m : null;
  }, { what: 'the SSE connection gone' });
  assert.equal(closed.value('herald_closed_total', { reason: 'client' }), 1);
});

htest('/metrics: same token rule as /state', async () => {
  const h = await startHerald({ tokens: ['metrics-token'] });
  assert.equal((await request(`${h.priv}/metrics`)).status, 401);
  assert.equal((await request(`${h.priv}/metrics`, { headers: { Authorization: 'Bearer wrong' } })).status, 401);
  assert.equal((await request(`${h.priv}/metrics?token=metrics-token`)).status, 200);
  await scrape(h, { token: 'metrics-token' });
});

htest('etc/grafana/herald-dashboard.json queries only metrics /metrics exports', async () => {
  const dash = JSON.parse(fs.readFileSync(`${REPO_ROOT}/etc/grafana/herald-dashboard.json`, 'utf8'));
  const h = await startHerald();
  const m = await scrape(h);
  const exported = new Set();
  for (const [name, f] of m.families) {
    exported.add(name);
    if (f.type === 'HISTOGRAM') for (const s of ['_bucket', '_sum', '_count']) exported.add(name + s);
  }
  const used = new Set();
  for (const p of dash.panels) {
    for (const t of p.targets) for (const n of t.expr.match(/herald_[a-z_]+/g)) used.add(n);
  }
  assert.ok(used.size >= 8, `the dashboard charts the main metrics: ${[...used]}`);
  for (const n of used) assert.ok(exported.has(n), `${n} is exported`);
});
