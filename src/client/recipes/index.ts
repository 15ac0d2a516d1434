/** kazoo's and Curator's recipes on ZgateClient. */
export { Lock, LOCK_PREFIX, type AcquireOptions } from './lock.js';
export { LeaderElection, type RunOptions } from './election.js';
export { Barrier } from './barrier.js';
export { Counter, type CounterOptions } from './counter.js';
export { Queue, ENTRY_PREFIX } from './queue.js';
