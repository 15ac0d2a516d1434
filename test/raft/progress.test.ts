import { Progress, ProgressTracker } from '../../src/raft/progress.js';
import { AssertionFailure } from '../../src/util/assert.js';

function pr(next = 6): Progress {
  return new Progress(next, 4, 0);
}

describe('Progress state machine', () => {
  it('starts probing and pauses after one MsgApp', () => {
    const p = pr();
    expect(p.state).toBe('probe');
    expect(p.isPaused()).toBe(false);
    p.sentEntries(6, 3, 30);
    expect(p.isPaused()).toBe(true);
    expect(p.next).toBe(6); // a probe does not move next
    // A heartbeat answer (or any acknowledgement) unpauses.
    expect(p.maybeUpdate(8)).toBe(true);
    expect(p.isPaused()).toBe(false);
    expect(p.match).toBe(8);
    expect(p.next).toBe(9);
  });

  it('probe -> replicate streams optimistically, bounded by inflights', () => {
    const p = pr();
    p.maybeUpdate(5);
    p.becomeReplicate();
    expect(p.next).toBe(6);
    p.sentEntries(6, 2, 10); // 6, 7
    p.sentEntries(8, 1, 10); // 8
    p.sentEntries(9, 1, 10);
    p.sentEntries(10, 1, 10);
    expect(p.next).toBe(11);
    expect(p.isPaused()).toBe(true); // 4 in flight
    p.maybeUpdate(8);
    p.inflights.freeLE(8);
    expect(p.isPaused()).toBe(false);
    expect(p.inflights.toArray()).toEqual([9, 10]);
    expect(() => p.sentEntries(12, 1, 1)).toThrow(AssertionFailure); // must start at next
  });

  it('maybeDecrTo in replicate falls back to match + 1; stale rejections are ignored', () => {
    const p = pr();
    p.maybeUpdate(5);
    p.becomeReplicate();
    p.sentEntries(6, 5, 50);
    expect(p.maybeDecrTo(4, 0)).toBe(false); // at or below match: stale
    expect(p.maybeDecrTo(8, 3)).toBe(true);
    expect(p.next).toBe(6);
  });

  it('maybeDecrTo in probe only accepts the rejection of the probe it sent, and uses the hint', () => {
    const p = pr(10);
    p.maybeUpdate(2);
    p.next = 10;
    expect(p.maybeDecrTo(7, 5)).toBe(false); // not next - 1
    p.msgAppFlowPaused = true;
    expect(p.maybeDecrTo(9, 5)).toBe(true);
    expect(p.next).toBe(6); // hint + 1
    expect(p.msgAppFlowPaused).toBe(false);
    expect(p.maybeDecrTo(5, 0)).toBe(true);
    expect(p.next).toBe(3); // never below match + 1
  });

  it('snapshot state: paused until reported; probe resumes after the snapshot or after match', () => {
    const p = pr(3);
    p.maybeUpdate(1);
    p.becomeSnapshot(20);
    expect(p.isPaused()).toBe(true);
    expect(p.pendingSnapshot).toBe(20);
    expect(() => p.sentEntries(2, 1, 1)).toThrow(AssertionFailure);
    p.becomeProbe(); // success: continue after the snapshot
    expect(p.next).toBe(21);
    expect(p.pendingSnapshot).toBe(0);

    const q = pr(3);
    q.maybeUpdate(1);
    q.becomeSnapshot(20);
    q.pendingSnapshot = 0; // failure: probe from match
    q.becomeProbe();
    expect(q.next).toBe(2);
  });

  it('keeps match < next', () => {
    const p = pr(1);
    expect(() => {
      p.match = 5;
      p.checkInvariants();
    }).toThrow(AssertionFailure);
  });
});

describe('ProgressTracker', () => {
  it('tracks voters, commit and quorum activity', () => {
    const t = new ProgressTracker(4, 0);
    t.setVoters([3, 1, 2], 11);
    expect(t.voters).toEqual([1, 2, 3]);
    t.get(1)!.maybeUpdate(12);
    expect(t.committed()).toBe(0);
    t.get(3)!.maybeUpdate(11);
    expect(t.committed()).toBe(11);
    // New members count as recently active for the first CheckQuorum round.
    expect(t.quorumActive(1)).toBe(true);
    expect(t.quorumActive(1)).toBe(false);
    t.get(2)!.recentActive = true;
    expect(t.quorumActive(1)).toBe(true);
  });

  it('keeps the progress of remaining voters on a change', () => {
    const t = new ProgressTracker(4, 0);
    t.setVoters([1, 2, 3], 11);
    t.get(2)!.maybeUpdate(9);
    t.setVoters([1, 2, 4], 15);
    expect(t.get(2)!.match).toBe(9);
    expect(t.get(4)!.next).toBe(15);
    expect(t.get(3)).toBeUndefined();
    expect(() => t.setVoters([1, 1], 1)).toThrow(AssertionFailure);
  });

  it('counts votes once per member', () => {
    const t = new ProgressTracker(4, 0);
    t.setVoters([1, 2, 3, 4, 5], 1);
    expect(t.recordVote(1, true).result).toBe('pending');
    expect(t.recordVote(2, false).result).toBe('pending');
    expect(t.recordVote(2, true).granted).toBe(1); // the first answer counts
    expect(t.recordVote(3, true).result).toBe('pending');
    expect(t.recordVote(4, true).result).toBe('won');
  });
});
