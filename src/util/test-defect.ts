/**
 * TEST-ONLY deliberate defects, so that the fault-injection checkers can be shown to fail
 * (test/faults/defect.test.ts). Never enabled in production: a defect is honoured only when
 * NODE_ENV is `test` AND `ZGATE_TEST_DEFECT` names it (comma-separated). Known defects:
 *
 * - `stale-linearizable-reads`: `?consistency=linearizable` reads skip the read index and
 *   answer from the member's local state (a partitioned old leader then serves stale reads).
 */
export type TestDefect = 'stale-linearizable-reads';

const enabled: ReadonlySet<string> =
  process.env['NODE_ENV'] === 'test' && process.env['ZGATE_TEST_DEFECT'] !== undefined
    ? new Set(process.env['ZGATE_TEST_DEFECT'].split(',').map((s) => s.trim()))
    : new Set();

export function testDefect(name: TestDefect): boolean {
  return enabled.has(name);
}
