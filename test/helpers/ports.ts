/**
 * Loopback ports for tests, without the race of "pick a free port, close it, use it later"
 * (another process on the machine may take it in between).
 */
import { connect, createServer, type Server } from 'node:net';
import type { Test } from 'tap';
import { PosError } from '../../config/errors.js';
import { probedPort } from '../../scripts/probed-port.js';

/**
 * A loopback port where no one will ever answer: a server that holds the port for the whole
 * test (so nothing else can take it) and destroys every connection as it arrives. A client
 * sees its connection reset (ECONNRESET or a hang-up) instead of refused.
 */
export async function droppingPort(t: Test): Promise<number> {
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

/**
 * Starts something that must be given its TCP port number (the local API: api.tcpPort 0 means
 * "no TCP", so it cannot bind port 0 and say which port it got) on a port the OS just handed
 * out; if another process took that port in between, the start fails with
 * CODPOS_DAEMON_API_LISTEN and it is tried again on a new one.
 */
export async function onFreshPort<T>(
  start: (port: number) => Promise<T>,
  attempts = 5,
): Promise<{ port: number; started: T }> {
  for (let attempt = 1; ; attempt++) {
    const port = await probedPort();
    try {
      return { port, started: await start(port) };
    } catch (error) {
      if (!(error instanceof PosError && error.code === 'CODPOS_DAEMON_API_LISTEN') || attempt === attempts)
        throw error;
    }
  }
}

/**
 * A loopback port held for the whole test that stands for a server which is away, then comes: it
 * drops every connection until `forwardTo(port)`, and from then on pipes each new connection to
 * that port. A server that starts late can so listen on a port of its own (port 0) while its
 * clients keep the address they were given, with no port given up and taken again in between.
 */
export async function latePort(t: Test): Promise<{ port: number; forwardTo(port: number): void }> {
  let target: number | undefined;
  const server: Server = createServer((socket) => {
    if (target === undefined) {
      socket.destroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: target });
    socket.pipe(upstream).pipe(socket);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    port: (server.address() as { port: number }).port,
    forwardTo(port: number) {
      target = port;
    },
  };
}
