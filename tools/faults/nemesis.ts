/**
 * The nemesis: faults on a seeded schedule over a FaultCluster.
 *
 * planSchedule(seed) fixes the kinds, start times, durations and the random picks; the
 * members a fault hits are resolved when it starts (the leader is whoever leads then), from
 * the planned pick, so a seed replays the same schedule (the cluster's own timing is real
 * time and not replayed). Between faults everything heals: links pass, paused members
 * continue, killed members restart on the same data dir.
 */
import { Prng } from '../../src/util/prng.js';
import type { FaultCluster } from './cluster.js';

export const FAULT_KINDS = ['isolate-leader', 'partition', 'bridge', 'one-way', 'flaky', 'kill', 'kill-leader', 'pause-leader', 'restart-all'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Faults that take the leader away (for the unavailability figure). */
export const LEADER_LOSS: ReadonlySet<FaultKind> = new Set(['isolate-leader', 'one-way', 'kill-leader', 'pause-leader', 'restart-all']);

export interface PlannedFault {
  kind: FaultKind;
  /** ms after the nemesis starts. */
  startMs: number;
  durationMs: number;
  /** Seed of the fault's own random picks (targets, probabilities). */
  pick: number;
}

export interface ScheduleOptions {
  kinds?: readonly FaultKind[];
  /** Fault length range, ms. Default 2,000..5,000. */
  faultMs?: [number, number];
  /** Healed gap between faults, ms. Default 1,000..3,000. */
  gapMs?: [number, number];
  /** First fault after this long, ms. Default 1,500. */
  firstMs?: number;
}

export function planSchedule(seed: number, durationMs: number, o: ScheduleOptions = {}): PlannedFault[] {
  const rng = new Prng(seed);
  const kinds = o.kinds ?? FAULT_KINDS;
  const [fmin, fmax] = o.faultMs ?? [2_000, 5_000];
  const [gmin, gmax] = o.gapMs ?? [1_000, 3_000];
  const out: PlannedFault[] = [];
  let t = o.firstMs ?? 1_500;
  while (t < durationMs) {
    const kind = rng.pick(kinds);
    const d = Math.min(rng.range(fmin, fmax), Math.max(500, durationMs - t));
    out.push({ kind, startMs: t, durationMs: d, pick: rng.nextU32() });
    t += d + rng.range(gmin, gmax);
  }
  return out;
}

export interface FaultEvent {
  kind: FaultKind;
  /** Harness clock, µs. */
  start: number;
  end: number;
  /** The leader when it started (if known). */
  leaderBefore: number | undefined;
  targets: number[];
  detail: string;
}

export class Nemesis {
  readonly events: FaultEvent[] = [];
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly cluster: FaultCluster,
    private readonly schedule: readonly PlannedFault[],
    /** Harness clock in µs. */
    private readonly now: () => number,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Stops early: the fault in progress heals at once. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private async wait(ms: number): Promise<void> {
    if (this.stopped || ms <= 0) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      this.wake = done;
      function done(): void {
        clearTimeout(t);
        resolve();
      }
    });
    this.wake = undefined;
  }

  async run(): Promise<FaultEvent[]> {
    const t0 = Date.now();
    for (const f of this.schedule) {
      await this.wait(f.startMs - (Date.now() - t0));
      if (this.stopped) break;
      const ev = await this.inject(f);
      this.log(`fault ${ev.kind}: ${ev.detail}`);
      await this.wait(f.durationMs);
      await this.heal(ev);
      this.events.push(ev);
    }
    return this.events;
  }

  private async heal(ev: FaultEvent): Promise<void> {
    await this.cluster.healAll();
    ev.end = this.now();
  }

  private async inject(f: PlannedFault): Promise<FaultEvent> {
    const c = this.cluster;
    const rng = new Prng(f.pick);
    const ids = c.ids;
    const leader = await c.leader();
    const ev: FaultEvent = { kind: f.kind, start: this.now(), end: Infinity, leaderBefore: leader, targets: [], detail: '' };
    const leaderOr = (): number => leader ?? rng.pick(ids);
    switch (f.kind) {
      case 'isolate-leader': {
        const l = leaderOr();
        c.cutBetween([l], ids.filter((i) => i !== l));
        ev.targets = [l];
        ev.detail = `member ${l} (leader ${leader ?? 'unknown'}) cut off from the others`;
        break;
      }
      case 'partition': {
        const shuffled = rng.shuffle([...ids]);
        const minority = shuffled.slice(0, rng.range(1, Math.floor((ids.length - 1) / 2)));
        const majority = ids.filter((i) => !minority.includes(i));
        c.cutBetween(minority, majority);
        ev.targets = minority;
        ev.detail = `partition {${minority.join(',')}} | {${majority.join(',')}}`;
        break;
      }
      case 'bridge': {
        // Two sides that can't talk, and one member (the bridge) that talks to both.
        const shuffled = rng.shuffle([...ids]);
        const bridge = shuffled[0]!;
        const rest = shuffled.slice(1);
        const half = Math.floor(rest.length / 2);
        const a = rest.slice(0, half);
        const b = rest.slice(half);
        c.cutBetween(a, b);
        ev.targets = [bridge];
        ev.detail = `bridge: {${a.join(',')}} - ${bridge} - {${b.join(',')}}`;
        break;
      }
      case 'one-way': {
        // The leader hears everyone but nobody hears it.
        const l = leaderOr();
        for (const o of ids) if (o !== l) c.setLink(l, o, { cut: true });
        ev.targets = [l];
        ev.detail = `member ${l}'s outbound links cut (it still hears the others)`;
        break;
      }
      case 'flaky': {
        const drop = 0.1 + rng.float() * 0.3;
        const delay = rng.range(10, 60);
        const jitter = rng.range(10, 60);
        for (const [from, to] of c.links()) c.setLink(from, to, { dropProbability: drop, delayMs: delay, jitterMs: jitter });
        ev.detail = `every link drops ${(drop * 100).toFixed(0)} % of frames, delay ${delay}+${jitter} ms`;
        break;
      }
      case 'kill':
      case 'kill-leader': {
        const victim = f.kind === 'kill-leader' ? leaderOr() : rng.pick(ids);
        await c.kill(victim);
        ev.targets = [victim];
        ev.detail = `kill -9 member ${victim}${victim === leader ? ' (the leader)' : ''}; restart after ${f.durationMs} ms`;
        break;
      }
      case 'pause-leader': {
        const l = leaderOr();
        c.pause(l);
        ev.targets = [l];
        ev.detail = `SIGSTOP member ${l}${l === leader ? ' (the leader)' : ''} for ${f.durationMs} ms`;
        break;
      }
      case 'restart-all': {
        await Promise.all(ids.map((i) => c.kill(i)));
        ev.targets = [...ids];
        ev.detail = `kill -9 every member; restart all after ${f.durationMs} ms`;
        break;
      }
    }
    return ev;
  }
}

