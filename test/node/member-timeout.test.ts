/**
 * Regression (found by the fault harness, seeds 101 and 303): a write whose request timeout
 * fired while the log was still deciding whether to accept it (propose() pending: no leader,
 * a forward waiting for the leader's answer) rejected its answer promise with nobody
 * listening, and Node ended the member process on the unhandled rejection.
 */
import { ZgateError } from '../../src/core/errors.js';
import type { CommittedEntry, LogStatus, ReplicatedLog } from '../../src/log/replicated-log.js';
import { Member } from '../../src/node/member.js';

class SlowLog implements ReplicatedLog {
  constructor(private readonly outcome: 'throw' | 'accept') {}
  async propose(): Promise<void> {
    await new Promise((r) => setTimeout(r, 150));
    if (this.outcome === 'throw') throw new ZgateError('Unavailable', 'no leader accepted the write; it was not applied');
  }
  readIndex(): Promise<number> {
    return Promise.resolve(0);
  }
  onCommit(_handler: (entries: CommittedEntry[]) => void): void {}
  async saveSnapshot(): Promise<void> {}
  status(): LogStatus {
    return { id: 1, role: 'follower', leaderId: null, term: 1, commitIndex: 0 } as unknown as LogStatus;
  }
  async close(): Promise<void> {}
}

describe('a write timing out while propose() is pending', () => {
  const unhandled: unknown[] = [];
  const listener = (e: unknown): void => {
    unhandled.push(e);
  };
  beforeAll(() => process.on('unhandledRejection', listener));
  afterAll(() => {
    process.off('unhandledRejection', listener);
  });

  for (const outcome of ['throw', 'accept'] as const) {
    test(`rejects the caller with Unavailable and leaves no unhandled rejection (propose then ${outcome}s)`, async () => {
      const m = new Member(new SlowLog(outcome), { requestTimeoutMs: 30 });
      await expect(m.write({ op: 'create', path: '/a', data: new Uint8Array(0), mode: 'persistent' })).rejects.toMatchObject({ code: 'Unavailable' });
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    });
  }
});
