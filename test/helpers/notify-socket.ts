/**
 * A fake systemd NOTIFY_SOCKET for tests: a unix datagram socket bound in a temporary
 * directory that keeps every datagram it receives, in order, as its `KEY=VALUE` lines.
 */
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface UnixDgramSocket {
  on(event: 'message', listener: (datagram: Buffer) => void): void;
  on(event: 'error' | 'listening', listener: (error?: Error) => void): void;
  bind(path: string): void;
  close(): void;
}

/** One datagram as its assignments, e.g. `{ READY: '1', STATUS: 'ready; ...' }`. */
export type Notification = Record<string, string>;

export interface FakeNotifySocket {
  /** The value for NOTIFY_SOCKET. */
  path: string;
  /** Every datagram so far, in the order received. */
  received: Notification[];
  /** Resolves when `count` datagrams in all matching `match` have been received. */
  waitFor(match: (n: Notification) => boolean, count?: number): Promise<Notification[]>;
  close(): void;
}

export function bindFakeNotifySocket(): FakeNotifySocket {
  const dir = mkdtempSync(join(tmpdir(), 'notify-'));
  const path = join(dir, 'notify.sock');
  const unixDgram = createRequire(import.meta.url)('unix-dgram') as {
    createSocket(type: 'unix_dgram'): UnixDgramSocket;
  };
  const socket = unixDgram.createSocket('unix_dgram');
  const received: Notification[] = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (datagram) => {
    const assignments: Notification = {};
    for (const line of datagram.toString('utf8').split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) assignments[line.slice(0, eq)] = line.slice(eq + 1);
    }
    received.push(assignments);
    for (const wake of waiters.splice(0)) wake();
  });
  socket.on('error', (error) => {
    throw error ?? new Error('fake notify socket failed');
  });
  socket.bind(path);
  return {
    path,
    received,
    waitFor(match, count = 1) {
      return new Promise((resolve) => {
        const check = () => {
          const matching = received.filter(match);
          if (matching.length >= count) resolve(matching);
          else waiters.push(check);
        };
        check();
      });
    },
    close() {
      socket.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
