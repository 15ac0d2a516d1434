/**
 * The platform's WebSocket: globalThis.WebSocket where there is one (browsers, Node 22), else
 * the `ws` package (Node 20 has no global WebSocket). The browser build replaces this module
 * with websocket-browser.ts (scripts/build-client-browser.mjs), so no Node import reaches it.
 */
import type { PlatformWebSocket, WebSocketLike } from './types.js';

type WebSocketCtor = new (url: string) => WebSocketLike;
type WsCtor = new (url: string, options?: { headers?: Record<string, string> }) => WebSocketLike;

export async function platformWebSocket(): Promise<PlatformWebSocket> {
  const global = (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
  if (global !== undefined) return { factory: (url) => new global(url) };
  const mod = (await import('ws')) as unknown as { default: WsCtor };
  const Ctor = mod.default;
  // Node's `ws` sends headers at the upgrade (a browser's WebSocket cannot).
  return { factory: (url) => new Ctor(url), withHeaders: (url, headers) => new Ctor(url, { headers }) };
}
