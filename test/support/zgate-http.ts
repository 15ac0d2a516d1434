/**
 * Runs the conformance vocabulary (./conformance.ts) against zgate's HTTP API, exactly as
 * /work/shared/api.md documents it, with Node's fetch (./http.ts):
 *
 * | op        | request                                                                    |
 * |-----------|----------------------------------------------------------------------------|
 * | create    | POST /v1/znodes/{path}?mode=..[&ttl=..], body = data (Zgate-Session for ephemerals) |
 * | get       | GET /v1/znodes/{path}?encoding=base64                                      |
 * | exists    | HEAD /v1/znodes/{path}: 200 + Zgate-Stat header, or 404 (NoNode)           |
 * | children  | GET /v1/znodes/{path}?children=true (paged with after= while short of numChildren) |
 * | set v>=0  | PUT /v1/znodes/{path}?version=v, or If-Match: "v" (alternating)            |
 * | set -1    | POST /v1/txn with one set op: PUT without a version is an upsert, which     |
 * |           | would create a missing node where ZooKeeper's setData answers NoNode        |
 * | delete    | DELETE /v1/znodes/{path}[?version=v | If-Match] (alternating like set)     |
 * | multi     | POST /v1/txn {"ops":[...]} with base64 data                                |
 * | sessions  | POST /v1/sessions, keepalive while open, DELETE /v1/sessions/{id}          |
 *
 * A write's zxid is the `Zgate-Zxid` header (for /v1/txn, the body's `zxid`). Errors are
 * `{"error":{"code":...}}`; an answer without that shape becomes code `HTTP<status>`.
 */
import type { StatJson } from '../../src/api/http/encoding.js';
import type { CreateOp, NStat, Op, Outcome, SubOp, SubResult, Target } from './conformance.js';
import { awaitGone, bytes, show } from './conformance.js';
import { send, sendBytes, type Answer } from './http.js';

function big(v: unknown, field: string): bigint {
  if (typeof v !== 'string' || !/^-?[0-9]+$/.test(v)) throw new Error(`zgate stat: ${field} must be a decimal string (api.md), got ${show(v)}`);
  return BigInt(v);
}

function num(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`zgate stat: ${field} must be an integer, got ${show(v)}`);
  return v;
}

export function parseStat(s: unknown): NStat {
  if (!s || typeof s !== 'object') throw new Error(`zgate: expected a stat object, got ${show(s)}`);
  // The field names are the server's (StatJson); what each must hold is checked here, from api.md.
  const w = s as Partial<Record<keyof StatJson, unknown>>;
  return {
    czxid: big(w.czxid, 'czxid'),
    mzxid: big(w.mzxid, 'mzxid'),
    pzxid: big(w.pzxid, 'pzxid'),
    ctime: num(w.ctime, 'ctime'),
    mtime: num(w.mtime, 'mtime'),
    version: num(w.version, 'version'),
    cversion: num(w.cversion, 'cversion'),
    aversion: num(w.aversion, 'aversion'),
    ephemeralOwner: big(w.ephemeralOwner, 'ephemeralOwner'),
    dataLength: num(w.dataLength, 'dataLength'),
    numChildren: num(w.numChildren, 'numChildren'),
  };
}

/** `/a/b` -> `/v1/znodes/a/b`, each segment percent-encoded; `/` -> `/v1/znodes`. */
export function znodeUrl(path: string): string {
  if (path === '/') return '/v1/znodes';
  if (!path.startsWith('/')) throw new Error(`znodeUrl: ${path} is not absolute`);
  return '/v1/znodes' + path.split('/').map((seg) => encodeURIComponent(seg)).join('/');
}

type Failure = Extract<Outcome, { ok: false }>;

export interface ZgateHttpOptions {
  /** Session timeout asked for by openSession. Default 30,000 ms. */
  sessionTimeoutMs?: number;
  /** Per-request timeout. Default 15,000 ms. */
  requestTimeoutMs?: number;
}

export class ZgateHttpTarget implements Target {
  readonly name = 'zgate';
  private readonly sessions = new Map<string, { id: string; timer: NodeJS.Timeout }>();
  private readonly log: string[] = [];
  private flip = 0;

  constructor(
    readonly baseUrl: string,
    private readonly opts: ZgateHttpOptions = {},
  ) {}

  trace(): string[] {
    return this.log.slice(-6);
  }

  private async request(method: string, url: string, init: { body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<Answer> {
    const res = await send(this.baseUrl, method, url, { ...init, timeoutMs: this.opts.requestTimeoutMs ?? 15000 });
    const sent = typeof init.body === 'string' ? init.body : init.body ? `<${init.body.length} bytes>` : '';
    const hdrs = init.headers ? ` ${show(init.headers)}` : '';
    this.log.push(`${method} ${url}${hdrs}${sent ? ` ${sent.slice(0, 300)}` : ''} -> ${res.status} ${res.text.slice(0, 500)}`);
    if (this.log.length > 50) this.log.splice(0, this.log.length - 50);
    return res;
  }

  /** An error answer as an outcome; an answer without api.md's error shape is `HTTP<status>`. */
  private failure(a: Answer): Failure {
    const err = (a.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = err && typeof err === 'object' && typeof err.code === 'string' ? err.code : `HTTP${a.status}`;
    return { ok: false, code, message: err && typeof err.message === 'string' ? err.message : a.text.slice(0, 200) };
  }

  private zxidOf(a: Answer): bigint | undefined {
    const h = a.headers.get('zgate-zxid');
    return h !== null && /^[0-9]+$/.test(h) ? BigInt(h) : undefined;
  }

  private sessionHeader(session: string | undefined): Record<string, string> {
    if (session === undefined) return {};
    const s = this.sessions.get(session);
    if (!s) throw new Error(`zgate target: no open session '${session}'`);
    return { 'Zgate-Session': s.id };
  }

  /** Alternates ?version= and If-Match so both forms of a versioned write are exercised. */
  private versioned(url: string, version: number | undefined): { url: string; headers: Record<string, string> } {
    if (version === undefined || version === -1) return { url, headers: {} };
    this.flip++;
    return this.flip % 2 === 1 ? { url: `${url}?version=${version}`, headers: {} } : { url, headers: { 'If-Match': `"${version}"` } };
  }

  async run(op: Op): Promise<Outcome> {
    switch (op.op) {
      case 'create': {
        const q = new URLSearchParams({ mode: op.mode ?? 'persistent' });
        if (op.ttl !== undefined) q.set('ttl', String(op.ttl));
        const a = await this.request('POST', `${znodeUrl(op.path)}?${q}`, {
          body: bytes(op.data),
          headers: { 'Content-Type': 'application/octet-stream', ...this.sessionHeader(op.session) },
        });
        if (a.status !== 201) return this.failure(a);
        const b = a.body as { path: string; stat: unknown };
        return { ok: true, path: b.path, stat: parseStat(b.stat), zxid: this.zxidOf(a) };
      }
      case 'set': {
        if (op.version === undefined || op.version === -1) {
          const r = await this.run({ op: 'multi', ops: [{ op: 'set', path: op.path, data: op.data, version: -1 }] });
          if (!r.ok) return { ok: false, code: r.code, message: r.message };
          const first = r.results?.[0];
          return { ok: true, stat: first && first.op === 'set' ? first.stat : undefined, zxid: r.zxid };
        }
        const v = this.versioned(znodeUrl(op.path), op.version);
        const a = await this.request('PUT', v.url, { body: bytes(op.data), headers: { 'Content-Type': 'application/octet-stream', ...v.headers } });
        if (a.status !== 200) return this.failure(a);
        const b = a.body as { stat: unknown };
        return { ok: true, stat: parseStat(b.stat), zxid: this.zxidOf(a) };
      }
      case 'delete': {
        const v = this.versioned(znodeUrl(op.path), op.version);
        const a = await this.request('DELETE', v.url, { headers: v.headers });
        if (a.status !== 204) return this.failure(a);
        return { ok: true, zxid: this.zxidOf(a) };
      }
      case 'get': {
        const a = await this.request('GET', `${znodeUrl(op.path)}?encoding=base64`);
        if (a.status !== 200) return this.failure(a);
        const b = a.body as { data: string; encoding: string; stat: unknown };
        if (b.encoding !== 'base64') throw new Error(`zgate: ?encoding=base64 answered encoding ${b.encoding}`);
        return { ok: true, data: Buffer.from(b.data, 'base64'), stat: parseStat(b.stat) };
      }
      case 'exists': {
        const a = await this.request('HEAD', znodeUrl(op.path));
        if (a.status === 404) return { ok: false, code: 'NoNode' };
        if (a.status !== 200) return { ok: false, code: `HTTP${a.status}` };
        const h = a.headers.get('zgate-stat');
        if (h === null) throw new Error('zgate: HEAD answered 200 without a Zgate-Stat header');
        return { ok: true, stat: parseStat(JSON.parse(h)) };
      }
      case 'children': {
        const names: string[] = [];
        let stat: NStat | undefined;
        let after: string | undefined;
        for (let page = 0; page < 1000; page++) {
          const q = new URLSearchParams({ children: 'true', encoding: 'base64' });
          if (after !== undefined) q.set('after', after);
          const a = await this.request('GET', `${znodeUrl(op.path)}?${q}`);
          if (a.status !== 200) return this.failure(a);
          const b = a.body as { children?: unknown; stat: unknown };
          if (!Array.isArray(b.children)) throw new Error(`zgate: ?children=true answered no children array`);
          stat ??= parseStat(b.stat);
          names.push(...(b.children as string[]));
          if (b.children.length === 0 || names.length >= stat.numChildren) break;
          after = names[names.length - 1];
        }
        const sorted = [...names].sort();
        return { ok: true, children: sorted, stat };
      }
      case 'multi': {
        const ops = op.ops.map((s) => this.txnOp(s));
        const a = await this.request('POST', '/v1/txn', {
          body: JSON.stringify({ ops }),
          headers: { 'Content-Type': 'application/json', ...this.sessionHeader(op.session ?? op.ops.find((s): s is CreateOp => s.op === 'create' && s.session !== undefined)?.session) },
        });
        const b = a.body as { zxid?: unknown; results?: unknown; error?: { code?: unknown; opIndex?: unknown } } | undefined;
        if (a.status !== 200) {
          const f = this.failure(a);
          const results = Array.isArray(b?.results) ? (b!.results as Array<{ code?: unknown }>).map((r) => String(r.code)) : undefined;
          const opIndex = typeof b?.error?.opIndex === 'number' ? b.error.opIndex : undefined;
          return { ...f, results, opIndex };
        }
        if (!Array.isArray(b?.results)) throw new Error(`zgate: /v1/txn answered 200 without results: ${a.text.slice(0, 300)}`);
        const results: SubResult[] = (b!.results as Array<{ op: string; path?: string; stat?: unknown }>).map((r) => {
          switch (r.op) {
            case 'create':
              return { op: 'create', path: String(r.path), stat: r.stat === undefined ? undefined : parseStat(r.stat) };
            case 'set':
              return { op: 'set', stat: r.stat === undefined ? undefined : parseStat(r.stat) };
            case 'delete':
              return { op: 'delete' };
            case 'check':
              return { op: 'check' };
            default:
              throw new Error(`zgate: unknown txn result op ${show(r.op)}`);
          }
        });
        const zxid = typeof b!.zxid === 'string' && /^[0-9]+$/.test(b!.zxid) ? BigInt(b!.zxid) : this.zxidOf(a);
        return { ok: true, results, zxid };
      }
      case 'openSession': {
        if (this.sessions.has(op.session)) throw new Error(`session '${op.session}' already open`);
        const timeoutMs = op.timeoutMs ?? this.opts.sessionTimeoutMs ?? 30000;
        const a = await this.request('POST', '/v1/sessions', { body: JSON.stringify({ timeoutMs }), headers: { 'Content-Type': 'application/json' } });
        if (a.status !== 201) return this.failure(a);
        const b = a.body as { sessionId: string; timeoutMs: number };
        const id = b.sessionId;
        const every = Math.max(200, Math.floor((b.timeoutMs ?? timeoutMs) / 3));
        const timer = setInterval(() => {
          void sendBytes(this.baseUrl, 'POST', `/v1/sessions/${encodeURIComponent(id)}/keepalive`, { timeoutMs: 5000 }).catch(() => undefined);
        }, every);
        timer.unref();
        this.sessions.set(op.session, { id, timer });
        return { ok: true, sessionId: big(id, 'sessionId') };
      }
      case 'abandonSession': {
        const s = this.sessions.get(op.session);
        if (!s) throw new Error(`zgate target: no open session '${op.session}'`);
        clearInterval(s.timer);
        this.sessions.delete(op.session);
        return { ok: true };
      }
      case 'awaitGone':
        return awaitGone(op.timeoutMs, async () => (await this.request('HEAD', znodeUrl(op.path))).status === 404);
      case 'closeSession': {
        const s = this.sessions.get(op.session);
        if (!s) throw new Error(`zgate target: no open session '${op.session}'`);
        clearInterval(s.timer);
        this.sessions.delete(op.session);
        const a = await this.request('DELETE', `/v1/sessions/${encodeURIComponent(s.id)}`);
        if (a.status !== 204) return this.failure(a);
        return { ok: true };
      }
    }
  }

  private txnOp(s: SubOp): Record<string, unknown> {
    switch (s.op) {
      case 'create': {
        const o: Record<string, unknown> = { op: 'create', path: s.path, data: bytes(s.data).toString('base64'), encoding: 'base64', mode: s.mode ?? 'persistent' };
        if (s.ttl !== undefined) o['ttl'] = Number(s.ttl);
        return o;
      }
      case 'set':
        return { op: 'set', path: s.path, data: bytes(s.data).toString('base64'), encoding: 'base64', version: s.version ?? -1 };
      case 'delete':
        return { op: 'delete', path: s.path, version: s.version ?? -1 };
      case 'check':
        return { op: 'check', path: s.path, version: s.version };
    }
  }

  /** Whether this zgate serves sessions yet (POST /v1/sessions answers 201); closes the probe session. */
  async probeSessions(): Promise<{ ok: boolean; detail: string }> {
    try {
      const a = await this.request('POST', '/v1/sessions', { body: JSON.stringify({ timeoutMs: 10000 }), headers: { 'Content-Type': 'application/json' } });
      if (a.status !== 201) return { ok: false, detail: `POST /v1/sessions answered ${a.status} ${a.text.slice(0, 200)}` };
      const id = (a.body as { sessionId?: unknown }).sessionId;
      if (typeof id === 'string') await this.request('DELETE', `/v1/sessions/${encodeURIComponent(id)}`);
      return { ok: true, detail: 'sessions available' };
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    }
  }

  async close(): Promise<void> {
    for (const name of [...this.sessions.keys()]) await this.run({ op: 'closeSession', session: name });
  }
}
