/**
 * A client process of the sessions benchmark (tools/bench/sessions.ts forks a few, so that the
 * load generator is not what falls behind): it creates its share of the sessions (each with an
 * ephemeral znode, unless told not to) and keeps every one alive at the natural rate, a
 * keepalive every third of the timeout, in one of two ways:
 *
 * - http: POST /v1/sessions/{id}/keepalive, the slots spread evenly over the period and the
 *   requests over all members in turn; HTTP/1.1 with keep-alive connections (node:http), a
 *   bounded number per member. Sessions and ephemerals are created through the followers.
 * - ws: one WebSocket per session, spread over the members, bound to it with {"op":"session"}
 *   (the ephemeral created on the socket): the member holding the socket keeps the session
 *   alive every third of its timeout, and the client sends nothing more (a browser tab's
 *   presence, or a ZooKeeper client's connection).
 *
 * Run only as a child with an IPC channel (child_process.fork); exits when the parent goes.
 */
import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import { nowMs } from './stats.js';

export type KeepaliveMode = 'http' | 'ws';

export interface SessionsWorkerStart {
  t: 'start';
  mode: KeepaliveMode;
  /** Every member's origin: keepalives (http) or sockets (ws) go to them in turn. */
  members: string[];
  /** Where sessions and ephemerals are created (the followers: their writes are forwarded). */
  createVia: string[];
  count: number;
  /** Global index of this worker's first session (names its ephemeral, picks its member). */
  firstIndex: number;
  timeoutMs: number;
  ephemerals: boolean;
  createConcurrency: number;
  connectionsPerMember: number;
}

export type ToSessionsWorker = SessionsWorkerStart | { t: 'stats' } | { t: 'stop' };

export interface KeepaliveStats {
  sent: number;
  ok: number;
  failed: number;
  firstFailure: string | undefined;
  /** How far behind its slot a keepalive went out, at most (ms): since the start, and since the previous stats request. */
  maxLagMs: number;
  recentMaxLagMs: number;
  /** Keepalives sent more than a tenth of the period after their slot. */
  late: number;
  /** ws: sockets that closed while they held their session. */
  lostSockets: number;
}

export type FromSessionsWorker =
  | { t: 'created'; n: number }
  /** retries: creates sent again after 503 Unavailable (a leader change while creating). */
  | { t: 'createdAll'; ms: number; retries: number }
  | { t: 'createFailed'; error: string }
  | { t: 'stats'; stats: KeepaliveStats }
  | { t: 'stopped'; stats: KeepaliveStats };

const send = (m: FromSessionsWorker): void => void process.send?.(m);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Keepalives (and creates) waiting for an answer, at most: past it, slots go out late (and say so). */
const MAX_IN_FLIGHT = 512;
/** A create answered 503 (no leader for a moment, on a busy machine) is sent again, this often at most. */
const CREATE_ATTEMPTS = 6;
let retries = 0;

let agent: Agent | undefined;

function call(origin: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const url = new URL(path, origin);
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, agent, headers: { 'content-type': 'application/json', ...headers, ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}) }, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => resolve({ status: 0, text: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out after 10 s')));
    req.on('error', (e) => resolve({ status: 0, text: e.message }));
    req.end(body);
  });
}

const stats: KeepaliveStats = { sent: 0, ok: 0, failed: 0, firstFailure: undefined, maxLagMs: 0, recentMaxLagMs: 0, late: 0, lostSockets: 0 };
let running = true;
let inFlight = 0;
let loop: Promise<void> | undefined;
const sockets: WebSocket[] = [];

/** Runs `fn` for 0..count-1, `concurrency` at a time; reports progress; stops at the first error. */
async function createAll(m: SessionsWorkerStart, fn: (i: number) => Promise<void>): Promise<void> {
  const t0 = nowMs();
  let next = 0;
  let created = 0;
  let failed = false;
  try {
    await Promise.all(
      Array.from({ length: Math.min(m.createConcurrency, m.count) }, async () => {
        while (next < m.count && !failed) {
          try {
            await fn(next++);
          } catch (e) {
            failed = true;
            throw e;
          }
          if (++created % 500 === 0) send({ t: 'created', n: created });
        }
      }),
    );
    send({ t: 'createdAll', ms: nowMs() - t0, retries });
  } catch (e) {
    send({ t: 'createFailed', error: e instanceof Error ? e.message : String(e) });
  }
}

/** ws: a socket bound to a new session (and its ephemeral); resolves once both are answered. */
function bindOne(m: SessionsWorkerStart, i: number): Promise<void> {
  const g = m.firstIndex + i;
  const url = `${m.members[g % m.members.length]!.replace('http:', 'ws:')}/v1/ws`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    sockets.push(ws);
    let done = false;
    let attempts = 0;
    const session = JSON.stringify({ id: 1, op: 'session', timeoutMs: m.timeoutMs });
    const ephemeral = JSON.stringify({ id: 2, op: 'create', path: `/bench/s${g}`, mode: 'ephemeral', data: '' });
    ws.on('open', () => ws.send(session));
    ws.on('message', (raw) => {
      if (done) return;
      const r = JSON.parse((raw as Buffer).toString('utf8')) as { id?: unknown; type?: string; error?: { code?: string } };
      if (r.type === 'session' && m.ephemerals) {
        ws.send(ephemeral);
      } else if ((r.type === 'session' && !m.ephemerals) || (r.type === 'result' && r.id === 2)) {
        done = true;
        resolve();
      } else if (r.type === 'error' && r.error?.code === 'Unavailable' && ++attempts < CREATE_ATTEMPTS) {
        // The same request again: a session created twice leaves one unbound, which expires on its own.
        retries++;
        setTimeout(() => ws.send(r.id === 2 ? ephemeral : session), 250 * attempts);
      } else if (r.type === 'error' && r.id === 2 && r.error?.code === 'NodeExists' && attempts > 0) {
        // Our own ephemeral, created by the attempt that answered Unavailable.
        done = true;
        resolve();
      } else if (r.type === 'error') {
        done = true;
        reject(new Error(`${url}: ${JSON.stringify(r.error)}`));
      }
    });
    ws.on('error', (e) => {
      if (!done) reject(e);
      done = true;
    });
    ws.on('close', (code) => {
      if (!running) return;
      stats.lostSockets++;
      stats.firstFailure ??= `a socket holding its session closed (${code})`;
      if (!done) reject(new Error(`${url}: closed ${code} before its session was bound`));
      done = true;
    });
  });
}

async function start(m: SessionsWorkerStart): Promise<void> {
  if (m.mode === 'ws') return createAll(m, (i) => bindOne(m, i));

  agent = new Agent({ keepAlive: true, maxSockets: m.connectionsPerMember });
  const ids: (string | undefined)[] = new Array<string | undefined>(m.count).fill(undefined);
  const period = m.timeoutMs / 3;
  const t0 = nowMs();
  // Slot i's k-th keepalive is due at t0 + k·period + (i/count)·period; a slot whose session
  // does not exist yet is skipped (its create was its first touch).
  loop = (async () => {
    for (let k = 0; running; k++) {
      const i = k % m.count;
      const due = t0 + Math.floor(k / m.count) * period + (i / m.count) * period;
      const wait = due - nowMs();
      if (wait > 2) await sleep(wait);
      while (inFlight >= MAX_IN_FLIGHT && running) await sleep(1);
      if (!running) break;
      const id = ids[i];
      if (id === undefined) continue;
      const lag = nowMs() - due;
      if (lag > stats.maxLagMs) stats.maxLagMs = lag;
      if (lag > stats.recentMaxLagMs) stats.recentMaxLagMs = lag;
      if (lag > period / 10) stats.late++;
      inFlight++;
      stats.sent++;
      void call(m.members[k % m.members.length]!, 'POST', `/v1/sessions/${id}/keepalive`).then((r) => {
        inFlight--;
        if (r.status === 200) stats.ok++;
        else {
          stats.failed++;
          stats.firstFailure ??= `${r.status} ${r.text.slice(0, 200)}`;
        }
      });
    }
    while (inFlight > 0) await sleep(5);
  })();

  /** A request sent again after 503 (a moment without a leader), a few times with a growing pause. */
  const retried = async (origin: string, path: string, body: string, headers?: Record<string, string>): Promise<{ status: number; text: string; attempts: number }> => {
    for (let attempt = 1; ; attempt++) {
      const r = await call(origin, 'POST', path, body, headers);
      if (r.status !== 503 || attempt >= CREATE_ATTEMPTS) return { ...r, attempts: attempt };
      retries++;
      await sleep(250 * attempt);
    }
  };
  await createAll(m, async (i) => {
    const via = m.createVia[i % m.createVia.length]!;
    // A session created twice (the first answer lost to a leader change) leaves one that nobody keeps alive: it expires on its own.
    const r = await retried(via, '/v1/sessions', JSON.stringify({ timeoutMs: m.timeoutMs }));
    if (r.status !== 201) throw new Error(`create session via ${via}: ${r.status} ${r.text.slice(0, 200)}`);
    const id = (JSON.parse(r.text) as { sessionId: string }).sessionId;
    if (m.ephemerals) {
      const e = await retried(via, `/v1/znodes/bench/s${m.firstIndex + i}?mode=ephemeral`, '', { 'zgate-session': id });
      // 409 after a retry: the attempt that answered 503 did create it.
      if (e.status !== 201 && !(e.status === 409 && e.attempts > 1)) throw new Error(`ephemeral via ${via}: ${e.status} ${e.text.slice(0, 200)}`);
    }
    ids[i] = id;
  });
}

process.on('message', (m: ToSessionsWorker) => {
  if (m.t === 'start') void start(m);
  else if (m.t === 'stats') {
    send({ t: 'stats', stats: { ...stats } });
    stats.recentMaxLagMs = 0;
  }
  else if (m.t === 'stop') {
    running = false;
    // ws: every socket at once, so every session's hold ends together.
    for (const ws of sockets) ws.terminate();
    void (loop ?? Promise.resolve()).then(() => send({ t: 'stopped', stats: { ...stats } }));
  }
});
process.on('disconnect', () => process.exit(0));
