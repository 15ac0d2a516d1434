/**
 * The jute codec for both directions of ZooKeeper's client protocol: one definition per record
 * of zookeeper.jute (./records/records.ts), multi framing (./records/multi.ts), all derived
 * from the generic codec of ./records/codec.ts over ./jute.ts's primitives. Decoders are strict
 * and bounded by JuteLimits and throw only JuteError.
 */
export * from './records/codec.js';
export * from './records/records.js';
export * from './records/multi.js';
export * from './records/ops.js';
export { DEFAULT_JUTE_LIMITS, JuteError, type JuteErrorReason, type JuteLimits } from './jute.js';
