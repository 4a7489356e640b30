// CPU per received event: one herald-client receives N events (default
// 100,000) from a real herald over the given transport, and we report the
// client process's CPU time (user + system, the publisher's work is in another
// process) divided by N. A figure to report, not a pass/fail threshold.
//
//   HERALD_BIN=build/herald node client-js/bench/receive.mjs [stream|poll] [N]
import { spawn } from 'node:child_process';
import { HeraldClient } from '../src/index.js';
import { startHerald } from '../../tests/integration/lib/herald.mjs';

const transport = process.argv[2] || 'stream';
const N = Number(process.argv[3] || 100000);
const h = await startHerald({ workers: 1, config: { history: { max_events: N + 1000 } } });
const topic = 'bench/recv';
const client = new HeraldClient(h.pub, { topics: [topic], transports: [transport] });
let got = 0;
let done;
const finished = new Promise((r) => { done = r; });
client.on('message', () => { if (++got === N) done(); });
client.on('error', (e) => { console.error(e); process.exit(1); });
await new Promise((r) => client.on('open', r));

// The publisher runs in a child process so its CPU is not counted here;
// each POST /event carries 50 entries (50 events; herald allows 64).
const pub = spawn(process.execPath, ['--input-type=module', '-e', `
  const body = JSON.stringify({ ep: Array(50).fill(${JSON.stringify(topic)}), e: { type: 'tick', detail: { n: 1, text: 'benchmark payload' } } });
  for (let i = 0; i < ${N / 50}; i++) {
    const r = await fetch(${JSON.stringify(h.priv)} + '/event', { method: 'POST', body, headers: { Authorization: 'Bearer ${h.token}' } });
    if (!r.ok) { console.error(await r.text()); process.exit(1); }
  }`], { stdio: 'inherit' });

const cpu0 = process.cpuUsage();
const t0 = Date.now();
await finished;
const cpu = process.cpuUsage(cpu0);
const ms = Date.now() - t0;
client.close();
pub.kill();
await h.kill();
const us = (cpu.user + cpu.system) / N;
console.log(`${transport}: ${N} events in ${ms} ms; client CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms = ${us.toFixed(2)} µs/event`);
process.exit(0);
