/**
 * JSON frames of the watch protocol (api.md "WebSocket" and "Server-sent events"), as the
 * wire's types (src/wire/frames.ts) declare them.
 *
 * An event frame is `{"type":"event","watchId":"7","event":"NodeDataChanged","path":"/a","zxid":"9"}`
 * (+ `data`, `encoding`, `stat` with withData). Everything after the watchId is the same for
 * every watcher of the event, so it is serialized once per zxid and shape (with or without
 * data) into the delivery's cache, and each socket's frame is a concatenation.
 */
import type { Zxid } from '../../core/types.js';
import type { Delivery, Watching, WatchKind } from '../../watch/index.js';
import type { Assert, Key, Same } from '../../wire/check.js';
import type { ErrorJson } from '../../wire/errors.js';
import type { ErrorFrame, EventFrame, EventTypeJson, RequestFrame, RequestId, RequestOp as WireRequestOp, WatchingFrame, WatchKindJson, WatchStateJson } from '../../wire/frames.js';
import type { DataEncoding } from '../../wire/znodes.js';
import { encodeData, statJson } from '../http/encoding.js';
import type { REQUEST_SCHEMAS, RequestOp } from './requests.js';

// The request schemas (the validator, and the OpenAPI description of /v1/ws) take exactly the
// wire's requests and fields, and the watch kinds are the hub's: checked at compile time.
type _RequestOps = Assert<Same<RequestOp, WireRequestOp>>;
type _RequestFields = Assert<Same<{ [K in RequestOp]: keyof (typeof REQUEST_SCHEMAS)[K]['properties'] }, { [K in RequestOp]: keyof Extract<RequestFrame, { op: K }> }>>;
type _WatchKinds = Assert<Same<WatchKind, WatchKindJson>>;

/** `"name":` of an event frame's field: the hand-built event text is checked against the wire's EventFrame. */
type EventKey<K extends keyof EventFrame & string> = Key<EventFrame, K>;

/** `,"event":...,"zxid":"..."` + data fields + `}`: the shared tail of an event object. */
export function eventTail(d: Delivery, i: number, withData: boolean): string {
  const slot = 2 * i + (withData ? 1 : 0);
  const cached = d.cache[slot];
  if (cached !== undefined) return cached;
  const ev = d.events[i]!;
  let s: string = `,"event":"${ev.type}","path":${JSON.stringify(ev.path)},"zxid":"${d.zxid}"` satisfies `,${EventKey<'event'>}"${EventTypeJson}",${EventKey<'path'>}${string},${EventKey<'zxid'>}"${string}"`;
  if (withData && ev.node !== undefined && ev.type !== 'NodeDeleted') {
    const { data, encoding } = encodeData(ev.node.data);
    s += `,"data":${JSON.stringify(data)},"encoding":"${encoding}","stat":${JSON.stringify(statJson(ev.node.stat))}` satisfies `,${EventKey<'data'>}${string},${EventKey<'encoding'>}"${DataEncoding}",${EventKey<'stat'>}${string}`;
  }
  s += '}';
  d.cache[slot] = s;
  return s;
}

/** One event object (watch ids are decimal digits: no escaping needed). */
export function eventJson(watchId: string, d: Delivery, i: number, withData: boolean): string {
  return `{"type":"event","watchId":"${watchId}"${eventTail(d, i, withData)}` satisfies `{${EventKey<'type'>}"${EventFrame['type']}",${EventKey<'watchId'>}"${string}"${string}`;
}

/**
 * A frame for one event and one watch, encoded once per (event, shape, watch id) and shared:
 * `make` builds its text the first time.
 */
export function sharedFrame(d: Delivery, i: number, withData: boolean, watchId: string, make: () => string): Uint8Array {
  const slot = 2 * i + (withData ? 1 : 0);
  let byId = d.frames[slot];
  if (byId === undefined) d.frames[slot] = byId = new Map();
  let frame = byId.get(watchId);
  if (frame === undefined) byId.set(watchId, (frame = Buffer.from(make(), 'utf8')));
  return frame;
}

/** The reply to watch (with the request's id), or SSE's `watching` message (id undefined). */
export function watchingJson(w: Watching, id: unknown): string {
  let state: WatchStateJson | null = null;
  if (!w.resumed && w.node !== undefined) {
    state = { ...encodeData(w.node.data), stat: statJson(w.node.stat) };
    if (w.children !== undefined) state.children = w.children;
  }
  // websocket.ts answers only a request whose id it checked is a number or a string.
  const frame: WatchingFrame = {
    ...(id === undefined ? {} : { id: id as RequestId }),
    type: 'watching',
    watchId: w.watch.id,
    kind: w.watch.kind,
    path: w.watch.path,
    zxid: String(w.zxid),
    state,
  };
  if (w.resumed) frame.resumed = true;
  return JSON.stringify(frame);
}

export type ErrorFields = ErrorJson;

/** An error frame's fields after its `error`; `compactZxid` goes with Compacted. */
export type ErrorExtras = Pick<ErrorFrame, 'results' | 'zxid' | 'compactZxid' | 'watchId'>;

/**
 * An error frame: `{"id":n,"type":"error","error":{"code","message",...}}`. For Compacted
 * the code and compactZxid also sit at the top level, as api.md writes that frame.
 */
export function errorFrame(id: unknown, error: ErrorFields, extra: ErrorExtras = {}): string {
  const { compactZxid, ...rest } = extra;
  // The id of a request websocket.ts checked is a number or a string; null for a frame without one.
  const head: Omit<ErrorFrame, 'error'> = { id: (id ?? null) as RequestId | null, type: 'error' };
  if (error.code === 'Compacted') {
    head.code = 'Compacted';
    if (compactZxid !== undefined) head.compactZxid = compactZxid;
  }
  const frame: ErrorFrame = { ...head, error: compactZxid === undefined ? error : { ...error, compactZxid } };
  return JSON.stringify(Object.assign(frame, rest));
}

export function compactedFrame(id: unknown, watchId: string | undefined, fromZxid: Zxid | undefined, compactZxid: Zxid): string {
  const message =
    fromZxid === undefined
      ? `this member jumped past events the watch needed; the oldest zxid to resume from is ${compactZxid}: re-read and watch anew`
      : `events after zxid ${fromZxid} are no longer retained; the oldest zxid to resume from is ${compactZxid}: re-read and watch anew`;
  const extra: ErrorExtras = { compactZxid: String(compactZxid) };
  if (watchId !== undefined) extra.watchId = watchId;
  return errorFrame(id, { code: 'Compacted', message }, extra);
}
