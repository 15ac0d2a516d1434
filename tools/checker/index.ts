/** Checkers of fault-injection histories (pure: no I/O). See wgl.ts, models.ts, invariants.ts. */
export { checkLinearizable, checkPartitioned, type CheckOptions, type LinearizabilityResult, type Model, type Operation, type PartitionedResult, type Verdict } from './wgl.js';
export { applyZ, sequenceModel, znodeModel, type Reg, type SeqInput, type SeqOutput, type ZInput, type ZOutput, type ZState, type ZSub } from './models.js';
export * from './history.js';
export * from './invariants.js';
export * from './sessions.js';
