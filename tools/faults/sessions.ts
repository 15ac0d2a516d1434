/**
 * The session workload: a worker opens a session (short timeout), creates a few ephemeral
 * znodes under /faults/e, keeps the session alive for a while, then either closes it or
 * abandons it, and polls (linearizable reads) until its ephemerals are gone. Everything is
 * timed on the harness clock, for checker/sessions.ts.
 */
import { Agent } from 'node:http';
import type { SessionRecord } from '../checker/sessions.js';
import { Prng } from '../../src/util/prng.js';
import { httpCall, type MonoClock } from './clients.js';

export interface SessionWorkerEnv {
  ports: ReadonlyMap<number, number>;
  members: readonly number[];
  clock: MonoClock;
  timeoutMs: number;
  requestTimeoutMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class SessionWorker {
  readonly records: SessionRecord[] = [];
  private stopped = false;
  private member: number;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private n = 0;

  constructor(
    readonly id: number,
    private readonly env: SessionWorkerEnv,
    private readonly rng: Prng,
  ) {
    this.member = rng.pick(env.members);
  }

  stop(): void {
    this.stopped = true;
  }

  private moveOn(): void {
    const others = this.env.members.filter((m) => m !== this.member);
    if (others.length > 0) this.member = this.rng.pick(others);
  }

  private call(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
    return httpCall(this.agent, this.env.ports.get(this.member)!, method, path, headers, body, this.env.requestTimeoutMs);
  }

  async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.cycle();
      } catch {
        this.moveOn();
        await sleep(200);
      }
    }
    this.agent.destroy();
  }

  private async cycle(): Promise<void> {
    const rec = await this.open();
    if (rec === undefined) return;
    await this.createEphemerals(rec);
    await this.keepAlive(rec);
    if (rec.end === 'running') {
      if (this.rng.chance(0.5)) await this.close(rec);
      else {
        rec.end = 'abandoned';
        rec.endAt = this.env.clock.now();
      }
    }
    await this.awaitEphemeralsGone(rec);
  }

  /** A new session, recorded; undefined when the member did not create one. */
  private async open(): Promise<SessionRecord | undefined> {
    const clock = this.env.clock;
    const r = await this.call('POST', '/v1/sessions', { 'content-type': 'application/json' }, JSON.stringify({ timeoutMs: this.env.timeoutMs }));
    if (r.kind !== 'answer' || r.status !== 201) {
      this.moveOn();
      await sleep(200);
      return undefined;
    }
    const created = JSON.parse(r.body) as { sessionId: string; timeoutMs: number };
    const rec: SessionRecord = { worker: this.id, session: created.sessionId, timeoutMs: created.timeoutMs, openedAt: clock.now(), lastKeepaliveOk: clock.now(), maxKeepaliveGap: 0, ephemerals: [], end: 'running' };
    this.records.push(rec);
    return rec;
  }

  private async createEphemerals(rec: SessionRecord): Promise<void> {
    const count = 1 + this.rng.int(3);
    for (let i = 0; i < count && !this.stopped; i++) {
      const path = `/faults/e/w${this.id}s${this.records.length}-${i}`;
      const c = await this.call('POST', `/v1/znodes${path}?mode=ephemeral&parents=true`, { 'zgate-session': rec.session, 'content-type': 'application/octet-stream' }, `e${this.id}.${++this.n}`);
      if (c.kind === 'answer' && c.status === 201) rec.ephemerals.push(path);
      else if (!(c.kind === 'answer' && c.status === 410)) this.moveOn();
    }
  }

  /** Keepalives for a while, or until the session is found expired. */
  private async keepAlive(rec: SessionRecord): Promise<void> {
    const clock = this.env.clock;
    const lifeUs = clock.now() + (1_500 + this.rng.int(4_000)) * 1000;
    while (clock.now() < lifeUs && !this.stopped) {
      await sleep(Math.floor(rec.timeoutMs / 4));
      const k = await this.call('POST', `/v1/sessions/${rec.session}/keepalive`);
      if (k.kind === 'answer' && k.status === 200) {
        const now = clock.now();
        rec.maxKeepaliveGap = Math.max(rec.maxKeepaliveGap, now - rec.lastKeepaliveOk);
        rec.lastKeepaliveOk = now;
      } else if (k.kind === 'answer' && k.status === 410) {
        rec.end = 'expired';
        rec.endAt = clock.now();
        break;
      } else this.moveOn();
    }
  }

  /** DELETE, retried on other members; a session that stays open is abandoned. */
  private async close(rec: SessionRecord): Promise<void> {
    const clock = this.env.clock;
    let closed = false;
    for (let attempt = 0; attempt < 5 && !closed; attempt++) {
      const d = await this.call('DELETE', `/v1/sessions/${rec.session}`);
      if (d.kind === 'answer' && (d.status === 204 || d.status === 410)) {
        closed = true;
        rec.end = d.status === 204 ? 'closed' : 'expired';
        rec.endAt = clock.now();
      } else {
        this.moveOn();
        await sleep(100);
      }
    }
    if (!closed) {
      rec.end = 'abandoned';
      rec.endAt = clock.now();
    }
    if (rec.end === 'closed') await this.createAfterClose(rec);
  }

  /** An ephemeral create for a closed session must fail: 410, nothing created. */
  private async createAfterClose(rec: SessionRecord): Promise<void> {
    const path = `/faults/e/w${this.id}s${this.records.length}-closed`;
    // A 503 (no leader reachable, or the write timed out in a fault) is no answer to
    // the question: try again, on another member, as a client would. The leak check on
    // the final tree still catches a create that applied behind a 503.
    const body = `e${this.id}.${++this.n}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      const c = await this.call('POST', `/v1/znodes${path}?mode=ephemeral&parents=true`, { 'zgate-session': rec.session, 'content-type': 'application/octet-stream' }, body);
      if (c.kind === 'answer' && c.status === 201) rec.ephemerals.push(path);
      if (c.kind === 'answer' && c.status !== 503) {
        rec.createAfterClose = c.status;
        break;
      }
      this.moveOn();
      await sleep(100);
    }
  }

  /** Until the ephemerals are gone (linearizable reads), or long past the timeout. */
  private async awaitEphemeralsGone(rec: SessionRecord): Promise<void> {
    const clock = this.env.clock;
    const giveUp = clock.now() + (rec.timeoutMs + 20_000) * 1000;
    let left = [...rec.ephemerals];
    while (left.length > 0 && clock.now() < giveUp && !this.stopped) {
      const still: string[] = [];
      for (const p of left) {
        const g = await this.call('GET', `/v1/znodes${p}?consistency=linearizable`);
        if (g.kind === 'answer' && g.status === 404) continue;
        if (g.kind === 'answer' && g.status === 200) {
          if (rec.end === 'closed' && rec.presentAfterClose === undefined) rec.presentAfterClose = p;
        } else this.moveOn();
        still.push(p);
      }
      left = still;
      if (left.length > 0) await sleep(250);
    }
    if (left.length === 0) rec.goneAt = clock.now();
    else if (this.stopped) rec.cutShort = true;
  }
}
