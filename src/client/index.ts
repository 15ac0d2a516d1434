/**
 * zgate's client library (`zgate/client`), for Node and browsers: ZgateClient, its errors and
 * types, and the recipes (Lock, LeaderElection, Barrier, Counter, Queue). README "Client library".
 */
export { ZgateClient } from './client.js';
export { ZgateError, isZgateError, type ErrorCode, type ErrorDetails } from './errors.js';
export type { WatchStream, Stop, DataWatchFn, ChildrenWatchFn } from './watches.js';
export * from './types.js';
export * from './recipes/index.js';
