/**
 * One benchmark cell: autocannon against one route at one concurrency, bounded both in time
 * (stopped after `durationS`) and in count (`maxRequests`, autocannon's `amount`). Loopback only.
 *
 * Throughput and latency are measured here from autocannon's per-response events rather than
 * from its summary: its summary samples once a second and records latency in whole
 * milliseconds, too coarse for sub-millisecond loopback answers. Latency goes into a
 * microsecond histogram; req/s is responses over the time from the start to the last response.
 */
import autocannon from 'autocannon';
import { performance, createHistogram } from 'node:perf_hooks';

export type Method = 'GET' | 'PUT' | 'POST';

export interface CellSpec {
  /** Origin, e.g. http://127.0.0.1:8080 (must be loopback). */
  origin: string;
  method: Method;
  /** A fixed path, or a function giving each request its own path (e.g. a new znode). */
  path: string | (() => string);
  body?: Buffer;
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
  maxRequests: number;
}

export interface CellResult {
  /** Responses received (any status). */
  requests: number;
  elapsedS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Connection errors and timeouts (autocannon's `errors`, timeouts included). */
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** What ended the cell: the time bound or the count bound. */
  stoppedBy: 'time' | 'count';
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function assertLoopback(origin: string): void {
  const host = new URL(origin).hostname;
  if (!LOOPBACK_HOSTS.has(host) && !host.startsWith('127.')) {
    throw new Error(`bench targets loopback only, not ${host}`);
  }
}

export async function runCell(spec: CellSpec): Promise<CellResult> {
  assertLoopback(spec.origin);
  const amount = Math.max(spec.maxRequests, spec.connections);
  const fixedPath = typeof spec.path === 'string' ? spec.path : undefined;
  const pathFn = typeof spec.path === 'function' ? spec.path : undefined;
  const opts: autocannon.Options = {
    url: spec.origin + (fixedPath ?? '/'),
    connections: spec.connections,
    amount,
    timeout: 10,
    sampleInt: 100,
    method: spec.method,
    headers: spec.headers,
    body: spec.body,
  };
  if (pathFn !== undefined) {
    opts.requests = [
      {
        method: spec.method,
        headers: spec.headers,
        body: spec.body,
        setupRequest: (req) => ({ ...req, path: pathFn() }),
      },
    ];
  }

  const hist = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
  let responses = 0;
  let lastResponseAt = 0;
  let timedOut = false;
  const startedAt = performance.now();

  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(opts, (err: Error | null, res: autocannon.Result) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(res);
    });
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      responses++;
      lastResponseAt = performance.now();
      hist.record(Math.max(1, Math.round(responseTime * 1000)));
    });
    const timer = setTimeout(() => {
      timedOut = true;
      instance.stop();
    }, spec.durationS * 1000);
  });

  const elapsedS = responses > 0 ? (lastResponseAt - startedAt) / 1000 : spec.durationS;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
    statusCodes[code] = (stat as { count?: number }).count ?? 0;
  }
  return {
    requests: responses,
    elapsedS,
    rps: elapsedS > 0 ? responses / elapsedS : 0,
    p50Ms: responses > 0 ? hist.percentile(50) / 1000 : NaN,
    p99Ms: responses > 0 ? hist.percentile(99) / 1000 : NaN,
    maxMs: responses > 0 ? hist.max / 1000 : NaN,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
    stoppedBy: responses + result.errors >= amount || !timedOut ? 'count' : 'time',
  };
}
