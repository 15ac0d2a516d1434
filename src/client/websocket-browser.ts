/** The browser build's WebSocket (it stands in for websocket-node.ts): the page's own, which cannot send headers (auth goes in-band). */
import type { PlatformWebSocket, WebSocketLike } from './types.js';

type WebSocketCtor = new (url: string) => WebSocketLike;

export async function platformWebSocket(): Promise<PlatformWebSocket> {
  const global = (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
  if (global === undefined) throw new Error('this platform has no WebSocket: pass options.webSocket');
  return { factory: (url) => new global(url) };
}
