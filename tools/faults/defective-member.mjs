#!/usr/bin/env node
// A zgate member with a deliberate defect, so that the fault harness's checkers can be shown to
// fail (test/faults/defect.test.ts, `npm run faults -- --defect NAME`). The product has no
// defect switch: this entry patches the built member before starting the ordinary CLI from
// the same build (dist/), with the CLI's own arguments. ZGATE_TEST_DEFECT names the defect:
//
// - stale-linearizable-reads: `?consistency=linearizable` reads skip the read index and answer
//   from the member's local state (a partitioned old leader then serves stale reads).
import process from 'node:process';
import { Member } from '../../dist/node/member.js';

const DEFECTS = {
  'stale-linearizable-reads': () => {
    Member.prototype.linearizableBarrier = async function () {};
  },
};

const name = process.env.ZGATE_TEST_DEFECT ?? '';
const inject = DEFECTS[name];
if (inject === undefined) {
  process.stderr.write(`defective-member: ZGATE_TEST_DEFECT must be one of ${Object.keys(DEFECTS).join(', ')}, got '${name}'\n`);
  process.exit(2);
}
inject();
await import('../../dist/cli/main.js');
