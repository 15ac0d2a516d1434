/**
 * The platform's WebSocket: globalThis.WebSocket where there is one (browsers, Node 22), else
 * the `ws` package (Node 20 has no global WebSocket). The browser build replaces this module
 * with websocket-browser.ts (scripts/build-client-browser.mjs), so no Node import reaches it.
 */
import type { WebSocketFactory, WebSocketLike } from './types.js';

type WebSocketCtor = new (url: string) => WebSocketLike;

export async function platformWebSocket(): Promise<WebSocketFactory> {
  const global = (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
  if (global !== undefined) return (url) => new global(url);
  const mod = (await import('ws')) as unknown as { default: WebSocketCtor };
  const Ctor = mod.default;
  return (url) => new Ctor(url);
}
