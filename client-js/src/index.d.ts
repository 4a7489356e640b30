// Types of herald-client (ES module). No DOM or Node types needed.

export type TransportName = 'sse' | 'stream' | 'poll';
export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'offline';

export interface HeraldOptions {
  /** Topic filters (`+`, `#` wildcards). Give these, or `space` + `channels`. */
  topics?: string[];
  /** A space (needs a JWT granting it when herald has JWT keys) ... */
  space?: string;
  /** ... and its channels. */
  channels?: string[];
  /** Client label for presence and /connections. */
  clid?: string;
  /** A JWT, or a function returning one; called again when the token nears `exp`. */
  token?: string | (() => string | Promise<string>);
  /** Transports to try, in order; the first that works is used and remembered per server. Default ['sse', 'stream', 'poll']. */
  transports?: TransportName[];
  /** Probe GET /selftest before the first stream and use polling if the stream is buffered. Default: true in browsers, false in Node. */
  selftest?: boolean;
  /** Remember the transport that worked for this server (a day; localStorage in browsers, memory in Node). Default true. */
  remember?: boolean;
  /** POST /alive before the connection's timeout. Default true. */
  keepAlive?: boolean;
  /** Browsers: one connection per origin and subscription shared by all tabs. Default true; ignored in Node. */
  shareTabs?: boolean;
  /** Reconnect delays: full jitter in [0, min(max, min * 2^attempt)] ms. Default {min: 500, max: 30000}. */
  backoff?: { min: number; max: number };
  /** A stream whose first frame does not arrive this long (ms) after its headers counts as buffered. Default 5000. */
  openTimeout?: number;
  /** Long-poll hold time asked of the server (ms). Default 25000. */
  pollTimeout?: number;
  /** Resume from this event id. */
  lastEventId?: string;
  /** es-web bind key (stream transport only). */
  bindKey?: string;
  /** fetch implementation (default: globalThis.fetch). */
  fetch?: (input: string, init?: any) => Promise<any>;
}

export interface HeraldMessage {
  /** Event id, `<epoch>-<seq>`: the resume cursor. */
  id: string;
  /** The topic it was published to. */
  topic: string;
  /** The subscription filter it matched. */
  filter: string;
  type: string;
  detail?: unknown;
  /** Publish time, ms since the epoch. */
  iat: number;
}

export interface HeraldEvents {
  message: HeraldMessage;
  open: { transport: TransportName; connid: number };
  reset: { reason: 'trimmed' | 'epoch' | 'malformed' | string; oldest?: string | null };
  disconnect: { reason: string; retryIn: number };
  state: ClientState;
  presence: { clid: string; type: 'available' | 'connect' | 'disconnect' | string; count: number };
  error: HeraldError;
  /** Every raw frame in the es-web shape ({id?, iat, ep: {requested, emitted}, e: {type, detail}}). */
  frame: RawFrame;
}

export interface RawFrame {
  id?: string;
  iat?: number;
  ep: { requested?: string; emitted: string };
  e: { type: string; detail?: unknown };
}

export class HeraldError extends Error {
  /** HTTP status, or 0 for a token function that failed. */
  status: number;
}

export class HeraldClient implements AsyncIterable<HeraldMessage> {
  constructor(url: string, options?: HeraldOptions);
  readonly url: string;
  readonly state: ClientState;
  /** The transport in use, once open. */
  readonly transport: TransportName | null;
  /** The resume cursor: the newest event id received or, before the first event, where the first connection subscribed. */
  readonly lastEventId: string | null;
  /** Why the client closed itself, if it did. */
  readonly error: HeraldError | null;
  on<K extends keyof HeraldEvents>(type: K, listener: (ev: HeraldEvents[K]) => void): this;
  off<K extends keyof HeraldEvents>(type: K, listener: (ev: HeraldEvents[K]) => void): this;
  /** Adds a channel (space clients) or topic; resolves on `joined_room`, rejects with the server's reason. */
  join(name: string): Promise<void>;
  /** Removes a channel or topic; resolves on `leaved_room`. */
  leave(name: string): Promise<void>;
  close(): void;
  [Symbol.asyncIterator](): AsyncIterator<HeraldMessage>;
}

export default HeraldClient;
