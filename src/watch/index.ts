/** Watches: the registry, the history ring and the hub that fans applied events out. */
export { EventHistory, entryBytes, type EventRecord, type HistoryBounds, type HistoryEntry, type NodeSnapshot } from './history.js';
export { CompactedError, WatchHub, type WatchHubOptions, type WatchHubStats, type WatchRequest, type WatchSource, type Watching } from './hub.js';
export { WATCH_KINDS, fires, isOneShot, isSelfOrDescendant, type WatchKind } from './kinds.js';
export { Subscriber, WatchRegistry, type Delivery, type Watch } from './registry.js';
