/**
 * Crash tests with real processes and real files: concurrent writers against a member, kill -9
 * at a random moment, restart on the same data dir, and check that every write acknowledged
 * before the kill is there and that no multi is half-visible. Small snapshot thresholds make
 * the rounds cross snapshots and log compaction too. ZGATE_CRASH_ROUNDS / ZGATE_CRASH_SEED
 * make a longer or replayed run (test/durability/crash-long.sh).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMember, type RunningMember } from '../support/member.js';
import { call, childrenOf, prng, waitReady } from './helpers.js';

const ROUNDS = Number(process.env.ZGATE_CRASH_ROUNDS ?? 5);
const SEED = Number(process.env.ZGATE_CRASH_SEED ?? Date.now() % 1_000_000);
const WRITERS = 32;

jest.setTimeout(180_000);

test(`kill -9 under ${WRITERS} concurrent writers loses no acknowledged write (seed ${SEED})`, async () => {
  const random = prng(SEED);
  const dataDir = mkdtempSync(join(tmpdir(), 'zgate-crash-'));
  const acknowledgedCreates = new Set<string>();
  const acknowledgedMultis = new Set<string>();
  const args = ['--log-level', 'warn', '--snapshot-entries', '400', '--segment-bytes', '65536'];
  let member: RunningMember | undefined;
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      member = await startMember({ dataDir, keepDataDir: true, args });
      const base = member.baseUrl;
      await waitReady(base);
      if (round === 0) {
        expect((await call(base, 'PUT', '/v1/znodes/w')).status).toBe(201);
        expect((await call(base, 'PUT', '/v1/znodes/m')).status).toBe(201);
      }
      // Everything acknowledged in earlier rounds survived the kill.
      const present = new Set(await childrenOf(base, '/w'));
      const missing = [...acknowledgedCreates].filter((n) => !present.has(n));
      expect({ round, seed: SEED, missing: missing.slice(0, 10), count: missing.length }).toEqual({ round, seed: SEED, missing: [], count: 0 });
      // Multis are all or nothing: each id has exactly its three znodes or none.
      const groups = new Map<string, number>();
      for (const n of await childrenOf(base, '/m')) groups.set(n.slice(0, n.lastIndexOf('-')), (groups.get(n.slice(0, n.lastIndexOf('-'))) ?? 0) + 1);
      for (const [id, count] of groups) expect({ id, count }).toEqual({ id, count: 3 });
      for (const id of acknowledgedMultis) expect({ id, present: groups.get(id) }).toEqual({ id, present: 3 });
      if (round === ROUNDS) break;

      // Load, then kill at a random moment while writes are in flight.
      let stop = false;
      const writer = async (w: number): Promise<void> => {
        for (let n = 0; !stop && n < 100_000; n++) {
          if (n % 5 === 4) {
            const id = `r${round}w${w}n${n}`;
            const r = await call(base, 'POST', '/v1/txn', { ops: ['a', 'b', 'c'].map((s) => ({ op: 'create', path: `/m/${id}-${s}`, data: id })) });
            if (r.status === 200) acknowledgedMultis.add(id);
            else if (r.status === 0) return;
          } else {
            const name = `r${round}w${w}n${n}`;
            const r = await call(base, 'PUT', `/v1/znodes/w/${name}`, name);
            if (r.status === 201) acknowledgedCreates.add(name);
            else if (r.status === 0) return;
          }
        }
      };
      const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
      // Writes (a multi among them) flow before the kill, however loaded the machine is.
      const createsBefore = acknowledgedCreates.size;
      const multisBefore = acknowledgedMultis.size;
      for (let waited = 0; waited < 20_000 && (acknowledgedCreates.size - createsBefore < 10 || acknowledgedMultis.size === multisBefore); waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, Math.floor(random() * 1200)));
      await member.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
    }
    expect(acknowledgedCreates.size).toBeGreaterThan(ROUNDS * 20);
    expect(acknowledgedMultis.size).toBeGreaterThan(0);
  } finally {
    if (member?.isRunning()) await member.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
