/**
 * Free loopback ports for tests: the kernel picks one by listening on port 0, we note it and
 * close the listener. Another process could take the port in between; callers that start a
 * server on it should retry on EADDRINUSE if that matters to them.
 */
import { createServer, Server } from 'node:net';

export const LOOPBACK = '127.0.0.1';

function listenOnZero(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host, port: 0, exclusive: true }, () => resolve(srv));
  });
}

function closeServer(srv: Server): Promise<void> {
  return new Promise((resolve) => srv.close(() => resolve()));
}

/** One free TCP port on `host` (loopback by default). */
export async function getFreePort(host: string = LOOPBACK): Promise<number> {
  const [port] = await getFreePorts(1, host);
  return port!;
}

/** `n` distinct free TCP ports: all listeners stay open until every port is chosen. */
export async function getFreePorts(n: number, host: string = LOOPBACK): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) servers.push(await listenOnZero(host));
    return servers.map((s) => {
      const addr = s.address();
      if (addr === null || typeof addr === 'string') throw new Error('ports: listener has no TCP address');
      return addr.port;
    });
  } finally {
    await Promise.all(servers.map(closeServer));
  }
}
