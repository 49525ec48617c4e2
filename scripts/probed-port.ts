/**
 * A loopback TCP port the OS just handed out, given back at once. For what cannot listen on port
 * 0 and say which port it got (mosquitto, the local API's TCP listener): the port is free now but
 * may be taken before it is used, so each caller retries on another when its start fails.
 */
import { createServer } from 'node:net';

export async function probedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
