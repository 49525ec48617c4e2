/**
 * Pseudo-terminal pairs for simulators: two PTYs whose master sides a small
 * python3 relay joins, so each end is a real tty that the native serialport
 * binding opens like a UART (the way socat's `pty,link=A pty,link=B` works).
 * python3's `pty` module is on every machine we run on and needs no install.
 * Each end is published as a symlink at a stable path, so a driver that lost
 * its device reopens the same path when the pair is started again. Each
 * direction is buffered in the relay (up to 1 MiB, then dropped as a UART
 * would), so a slow or absent reader on one end never stalls the other.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PosError } from '../../config/errors.js';

const RELAY = String.raw`
import os, sys, pty, tty, select, json, signal
links = sys.argv[1:3]
ends = []
for link in links:
    master, slave = pty.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    name = os.ttyname(slave)
    try:
        os.unlink(link)
    except FileNotFoundError:
        pass
    os.symlink(name, link)
    ends.append((master, slave, name))
def bye(*_):
    for link in links:
        try:
            os.unlink(link)
        except OSError:
            pass
    os._exit(0)
signal.signal(signal.SIGTERM, bye)
signal.signal(signal.SIGINT, bye)
print(json.dumps([e[2] for e in ends]), flush=True)
a, b = ends[0][0], ends[1][0]
other = {a: b, b: a}
pending = {a: bytearray(), b: bytearray()}
LIMIT = 1 << 20
while True:
    writers = [fd for fd in (a, b) if pending[fd]]
    readable, writable, _ = select.select([a, b], writers, [])
    for fd in writable:
        try:
            sent = os.write(fd, pending[fd])
            del pending[fd][:sent]
        except BlockingIOError:
            pass
        except OSError:
            pending[fd].clear()
    for fd in readable:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if data and len(pending[other[fd]]) < LIMIT:
            pending[other[fd]] += data
`;

export interface PtyPair {
  /** Symlink paths: `hostPath` for the driver, `devicePath` for the simulator. */
  hostPath: string;
  devicePath: string;
  /** The /dev/pts/N nodes behind the links. */
  ttys: [string, string];
  process: ChildProcess;
  /** Ends the relay (both PTYs hang up) and removes the links. */
  close(): Promise<void>;
  /** Kills the relay without cleanup, the way an unplug or a crash looks. */
  kill(): void;
}

export async function openPtyPair(hostPath: string, devicePath: string, python = 'python3'): Promise<PtyPair> {
  const child = spawn(python, ['-c', RELAY, hostPath, devicePath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const ttys = await new Promise<[string, string]>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as [string, string]);
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('error', (error) =>
      reject(
        new PosError(
          'CODPOS_DEVICE_PTY_UNAVAILABLE',
          `cannot start ${python} for pseudo-terminals (${error.message}): install python3 (Debian package python3)`,
          { cause: error },
        ),
      ),
    );
    child.once('exit', (code) =>
      reject(
        new PosError('CODPOS_DEVICE_PTY_UNAVAILABLE', `the pseudo-terminal relay exited (${code}): ${err.trim()}`),
      ),
    );
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    hostPath,
    devicePath,
    ttys,
    process: child,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}
