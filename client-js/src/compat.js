// herald-client/compat: the es-web-notify browser client's NoPollSubscriber
// API on top of HeraldClient, so a page written for the original needs only
// its import changed, and gains resume, de-duplication and fallback.
//
//   new NoPollSubscriber(config, onResponse, onConnected, onStateChange)
//   config: the stream URL, or {url, method, data: {clid, ep, bind_key}, headers}
//   onResponse(json string) gets every frame, @SERVER@ connected included;
//   onConnected() each time a connection opens; onStateChange({value}) with
//   -1 offline, 0 disconnected, 1 connecting, 2 connected.
import { HeraldClient } from './index.js';

const STATES = { offline: -1, closed: 0, connecting: 1, reconnecting: 1, open: 2 };

export class NoPollSubscriber {
  constructor(config, onResponse, onConnected, onStateChange) {
    this._config = config;
    this._cb = [onResponse, onConnected, onStateChange];
    this._stopped = true;
    this._client = null;
  }

  // (Re)starts the subscription, optionally with a new config.
  start(config = this._config) {
    this.setURL(config);
    this._stopped = false;
    this._open();
  }

  // Stops for good (the original: "won't call again").
  stop() {
    this._stopped = true;
    if (this._client) this._client.close();
    this._client = null;
  }

  // Drops the current connection; unless stopped, it reconnects and resumes.
  abort() {
    if (this._client) this._client.close();
    if (!this._stopped) this._open();
  }

  setURL(config) { this._config = config; }

  _open() {
    const c = typeof this._config === 'string' ? { url: this._config } : this._config;
    const u = new URL(c.url, typeof location !== 'undefined' ? location.href : undefined);
    const data = c.data || {};
    const topics = (data.ep || []).map((e) => (typeof e === 'string' ? e : e.topic));
    const [onResponse, onConnected, onStateChange] = this._cb;
    const last = this._client && this._client.lastEventId;
    // The page may run its own /alive loop with the connected frame's secret,
    // as the original's examples do; ours would rotate that secret under it.
    const client = new HeraldClient(u.origin + u.pathname, {
      topics, clid: data.clid, bindKey: data.bind_key, lastEventId: last,
      transports: ['stream', 'poll'], keepAlive: false, shareTabs: false, selftest: c.selftest ?? false,
    });
    this._client = client;
    client.on('frame', (m) => onResponse && onResponse(JSON.stringify(m)));
    client.on('open', () => onConnected && onConnected());
    client.on('state', (s) => onStateChange && onStateChange({ value: STATES[s] }));
  }
}

export default NoPollSubscriber;
