/**
 * A seed replays exactly: the same seed gives the same run (the one-line replay command of a
 * failure depends on it), and different seeds give different runs.
 */
import { Simulation } from '../../tools/sim/simulation.js';

async function fingerprint(seed: number): Promise<string> {
  const sim = new Simulation(seed, { seed, safetyTicks: 200, trace: true });
  const r = await sim.run();
  const lines = sim.traceLines();
  return JSON.stringify([r.steps, r.commitIndex, r.maxTerm, r.crashes, r.messages, r.dropped, r.convergeTicks, lines.length, lines.slice(-50)]);
}

describe('simulator determinism', () => {
  it('replays a seed exactly', async () => {
    for (const seed of [7, 1234, 99999]) expect(await fingerprint(seed)).toBe(await fingerprint(seed));
  });

  it('different seeds differ', async () => {
    expect(await fingerprint(1)).not.toBe(await fingerprint(2));
  });
});
