// The es-web-notify NoPollSubscriber API, implemented on HeraldClient.

export interface NoPollConfig {
  url: string;
  method?: string;
  data?: { clid?: string; bind_key?: string; ep: Array<string | { topic: string; binded?: boolean }> };
  headers?: Record<string, string>;
  /** herald addition: probe /selftest first. Default false. */
  selftest?: boolean;
}

export class NoPollSubscriber {
  constructor(
    config: string | NoPollConfig,
    onResponse?: (json: string) => void,
    onConnected?: () => void,
    onStateChange?: (state: { value: -1 | 0 | 1 | 2 }) => void,
  );
  start(config?: string | NoPollConfig): void;
  stop(): void;
  abort(): void;
  setURL(config: string | NoPollConfig): void;
}

export default NoPollSubscriber;
