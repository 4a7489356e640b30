// Compiled by tsc --noEmit (run.sh) against the installed package's .d.ts.
import { HeraldClient, HeraldError, type HeraldMessage, type ClientState } from 'herald-client';
import { NoPollSubscriber } from 'herald-client/compat';

const c = new HeraldClient('http://127.0.0.1:8080', {
  space: 'shop', channels: ['orders'], clid: 'me', token: async () => 'jwt', transports: ['sse', 'stream', 'poll'],
});
c.on('message', (m: HeraldMessage) => { const id: string = m.id; const t: string = m.topic; void id; void t; });
c.on('state', (s: ClientState) => { if (s === 'offline') c.close(); });
c.on('disconnect', (d) => { const n: number = d.retryIn; void n; });
c.on('error', (e: HeraldError) => { const s: number = e.status; void s; });
c.on('open', (o) => { const t: 'sse' | 'stream' | 'poll' = o.transport; void t; });
const joined: Promise<void> = c.join('alerts');
void joined;
async function iterate(): Promise<void> {
  for await (const ev of c) { const d: unknown = ev.detail; void d; }
}
void iterate;
const t: string | null = c.transport;
void t;
// @ts-expect-error: topics must be strings
new HeraldClient('http://x', { topics: [1] });

const nps = new NoPollSubscriber({ url: 'http://127.0.0.1:8080/', data: { clid: 'x', ep: ['a', { topic: 'b', binded: true }] } },
  (json: string) => JSON.parse(json), () => {}, (s) => { const v: -1 | 0 | 1 | 2 = s.value; void v; });
nps.start();
nps.stop();
