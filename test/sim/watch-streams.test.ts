/**
 * The simulator's watch-stream check: every member's real WatchHub delivers, to a recursive
 * watch on '/', exactly the events that member applied, in zxid order; with the members'
 * applied events agreeing, the streams are identical everywhere. The check must be able to
 * fail, and the seeds must exercise it.
 */
import type { ApplyOutcome, TreeEvent } from '../../src/core/types.js';
import { SessionTable } from '../../src/session/index.js';
import { SafetyViolation } from '../../tools/sim/checker.js';
import { MemberChecker } from '../../tools/sim/member-checker.js';
import { runSeed } from '../../tools/sim/simulation.js';

const ok: ApplyOutcome = { ok: true, result: { op: 'noop' }, events: [] };
const events: TreeEvent[] = [
  { type: 'NodeCreated', path: '/a' },
  { type: 'NodeChildrenChanged', path: '/' },
  { type: 'NodeDeleted', path: '/b' },
];

describe('the member checker on watch deliveries', () => {
  test('a delivery of the applied events (a recursive watch gets no NodeChildrenChanged) passes, on every member', () => {
    const c = new MemberChecker();
    c.applied(1, 5, events, ok, new SessionTable());
    c.delivered(1, 5, 'NodeCreated@/a,NodeDeleted@/b');
    c.applied(2, 5, events, ok, new SessionTable());
    c.delivered(2, 5, 'NodeCreated@/a,NodeDeleted@/b');
  });

  test('a delivery that drops, reorders or invents an event is a violation', () => {
    const c = new MemberChecker();
    c.applied(1, 5, events, ok, new SessionTable());
    expect(() => c.delivered(1, 5, 'NodeCreated@/a')).toThrow(SafetyViolation);
    expect(() => c.delivered(1, 5, 'NodeDeleted@/b,NodeCreated@/a')).toThrow(SafetyViolation);
    expect(() => c.delivered(1, 5, 'NodeCreated@/a,NodeChildrenChanged@/,NodeDeleted@/b')).toThrow(SafetyViolation);
    expect(() => c.delivered(2, 5, 'NodeDeleted@/a,NodeDeleted@/b')).toThrow(/member 2 disagrees at zxid 5 on its events/);
  });
});

test('seeds exercise the real watch hubs: many deliveries checked, no violation', async () => {
  let deliveries = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const r = await runSeed({ seed });
    deliveries += r.stats.watchDeliveries;
  }
  expect(deliveries).toBeGreaterThan(100);
});
