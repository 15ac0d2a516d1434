/**
 * A seed replays exactly: the same seed gives the same run (the one-line replay command of a
 * failure depends on it), and different seeds give different runs.
 */
import { Simulation } from '../../tools/sim/simulation.js';

function fingerprint(seed: number): string {
  const sim = new Simulation(seed, { seed, safetyTicks: 200, trace: true });
  const r = sim.run();
  const lines = sim.traceLines();
  return JSON.stringify([r.steps, r.commitIndex, r.maxTerm, r.crashes, r.messages, r.dropped, r.convergeTicks, lines.length, lines.slice(-50)]);
}

describe('simulator determinism', () => {
  it('replays a seed exactly', () => {
    for (const seed of [7, 1234, 99999]) expect(fingerprint(seed)).toBe(fingerprint(seed));
  });

  it('different seeds differ', () => {
    expect(fingerprint(1)).not.toBe(fingerprint(2));
  });
});
