/** The logger the cluster runtime writes to: pino's (fastify's app.log) fits. */
export interface ClusterLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const SILENT: ClusterLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Logs a repeated condition at most once per `everyMs` per key (e.g. a peer that stays down). */
export class Throttle {
  private readonly last = new Map<string, number>();
  constructor(private readonly everyMs: number) {}

  /** True when `key` was not let through within the last `everyMs`. */
  ok(key: string, now = Date.now()): boolean {
    const t = this.last.get(key);
    if (t !== undefined && now - t < this.everyMs) return false;
    this.last.set(key, now);
    if (this.last.size > 1000) this.last.clear();
    return true;
  }

  forget(prefix: string): void {
    for (const k of [...this.last.keys()]) if (k.startsWith(prefix)) this.last.delete(k);
  }
}
