/** The browser build's WebSocket (it stands in for websocket-node.ts): the page's own. */
import type { WebSocketFactory, WebSocketLike } from './types.js';

type WebSocketCtor = new (url: string) => WebSocketLike;

export async function platformWebSocket(): Promise<WebSocketFactory> {
  const global = (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
  if (global === undefined) throw new Error('this platform has no WebSocket: pass options.webSocket');
  return (url) => new global(url);
}
