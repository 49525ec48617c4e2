/**
 * The systemd notify protocol (sd_notify(3)), spoken by the daemon itself: `KEY=VALUE` lines,
 * newline-separated, in one datagram to the unix datagram socket named by NOTIFY_SOCKET. The unit
 * (scripts/systemd/codposd.service, Type=notify) counts the daemon started only at READY=1,
 * shows the last STATUS= line in `systemctl status`, and restarts the daemon when the WATCHDOG=1
 * heartbeats stop for WatchdogSec.
 *
 * Not run by systemd (by hand, in tests): NOTIFY_SOCKET is absent and every call is a no-op.
 * Sending never throws into the daemon: a lost notification costs at worst a restart by
 * systemd, an exception here would cost the payment in hand. The first failure is logged, the
 * rest are counted and not repeated (a watchdog failing every 10 s would flood the journal).
 *
 * The socket comes from unix-dgram (native), loaded only when NOTIFY_SOCKET is set, so a daemon
 * started by hand does not pay for it; node:dgram has no unix datagram sockets.
 */
import { createRequire } from 'node:module';
import type { Logger } from './log.js';

/** Where the datagrams go: a file system path, or a Linux abstract name (`@name` in NOTIFY_SOCKET). */
export type NotifyAddress = { kind: 'path'; path: string } | { kind: 'abstract'; name: string };

/** Sends one datagram; failures are reported to `onError`, never thrown. */
export interface NotifyTransport {
  send(datagram: Buffer, onError: (error: Error) => void): void;
  close(): void;
}

export interface SystemdNotifier {
  /** False when there is no NOTIFY_SOCKET (or it cannot be used): every call is then a no-op. */
  readonly enabled: boolean;
  /** READY=1 with the status line a technician sees in `systemctl status`. */
  ready(status: string): void;
  /** STOPPING=1: the daemon is shutting down (systemd no longer expects heartbeats). */
  stopping(status?: string): void;
  status(text: string): void;
  /**
   * RELOADING=1 with MONOTONIC_USEC (the clock systemd compares, sd_notify(3)) at the start of a
   * SIGHUP reload; `ready` again when it is done, so `systemctl reload` waits for the end.
   */
  reloading(status?: string): void;
  /** One WATCHDOG=1 heartbeat. */
  watchdog(): void;
  /**
   * Sends WATCHDOG=1 from an event loop timer every `intervalMs` (default: half of WATCHDOG_USEC,
   * when WATCHDOG_USEC is set for this process), so a blocked loop stops the heartbeats and
   * systemd restarts the daemon. Returns the interval, or undefined when no watchdog is asked for.
   */
  startWatchdog(intervalMs?: number): number | undefined;
  /** Stops the watchdog timer and closes the socket. */
  close(): void;
}

export interface NotifierOptions {
  log: Logger;
  /** The environment to read NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from (process.env). */
  env?: NodeJS.ProcessEnv;
  /** This process's id, for WATCHDOG_PID (process.pid). */
  pid?: number;
  /** How datagrams are sent (unix-dgram); tests of failures pass their own. */
  transport?: (address: NotifyAddress) => NotifyTransport;
}

/** NOTIFY_SOCKET's value as an address: `@name` is the abstract socket "\0name", anything else a path. */
export function notifyAddress(value: string): NotifyAddress {
  return value.startsWith('@') ? { kind: 'abstract', name: value.slice(1) } : { kind: 'path', path: value };
}

/**
 * The heartbeat interval in ms: half of WATCHDOG_USEC (sd_watchdog_enabled(3) advises sending
 * at half the timeout, so one late tick is not a restart), or undefined when systemd asks for
 * no watchdog, or asks it of another process (WATCHDOG_PID is not ours).
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usecText = env.WATCHDOG_USEC;
  if (usecText === undefined || !/^\d+$/.test(usecText)) return undefined;
  const usec = Number(usecText);
  if (usec <= 0) return undefined;
  const forPid = env.WATCHDOG_PID;
  if (forPid !== undefined && forPid !== '' && Number(forPid) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

/** One datagram: assignments joined by newlines; a value is one line (a newline would start a new assignment). */
export function notifyDatagram(assignments: Record<string, string>): Buffer {
  return Buffer.from(
    Object.entries(assignments)
      .map(([key, value]) => `${key}=${value.replace(/[\r\n]+/g, ' ')}`)
      .join('\n'),
    'utf8',
  );
}

export function createSystemdNotifier(options: NotifierOptions): SystemdNotifier {
  const env = options.env ?? process.env;
  const pid = options.pid ?? process.pid;
  const { log } = options;
  const socketValue = env.NOTIFY_SOCKET;
  let transport: NotifyTransport | undefined;
  if (socketValue) {
    const address = notifyAddress(socketValue);
    try {
      transport = (options.transport ?? unixDgramTransport)(address);
    } catch (error) {
      log.warn(
        { err: error, notifySocket: socketValue },
        'systemd notify socket unusable; systemd will not hear from the daemon',
      );
    }
  }
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;

  const onError = (error: Error) => {
    failures += 1;
    if (failures === 1)
      log.warn(
        { err: error, notifySocket: socketValue },
        'systemd notification not delivered; later failures are not logged',
      );
  };
  const send = (assignments: Record<string, string>) => {
    if (!transport) return;
    try {
      transport.send(notifyDatagram(assignments), onError);
    } catch (error) {
      onError(error as Error);
    }
  };
  const withStatus = (assignments: Record<string, string>, status: string | undefined) =>
    status === undefined ? assignments : { ...assignments, STATUS: status };

  return {
    enabled: transport !== undefined,
    ready: (status) => send(withStatus({ READY: '1' }, status)),
    stopping: (status) => send(withStatus({ STOPPING: '1' }, status)),
    status: (text) => send({ STATUS: text }),
    // process.hrtime is CLOCK_MONOTONIC on Linux (libuv's uv_hrtime), the clock systemd means.
    reloading: (status) =>
      send(withStatus({ RELOADING: '1', MONOTONIC_USEC: String(process.hrtime.bigint() / 1000n) }, status)),
    watchdog: () => send({ WATCHDOG: '1' }),
    startWatchdog(intervalMs) {
      const every = intervalMs ?? watchdogIntervalMs(env, pid);
      if (every === undefined || !transport) return undefined;
      if (timer) clearInterval(timer);
      timer = setInterval(() => send({ WATCHDOG: '1' }), every);
      // The heartbeat must not keep a stopping daemon alive.
      timer.unref();
      return every;
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      const closing = transport;
      transport = undefined;
      try {
        closing?.close();
      } catch {
        // closing a socket that failed is nothing the daemon can act on
      }
    },
  };
}

/** The shape of unix-dgram that we use (it ships no types). */
interface UnixDgramSocket {
  on(event: 'error', listener: (error: Error) => void): void;
  send(buffer: Buffer, offset: number, length: number, path: string, callback: (error?: Error) => void): void;
  close(): void;
}

/**
 * A unix-dgram socket. An abstract address is refused here: unix-dgram 2.0.7 copies the address
 * with strncpy, which stops at the leading NUL of "\0name", so the datagram would go to another
 * name. Saying so once beats notifications that vanish. (systemd itself uses the path
 * /run/systemd/notify; abstract names come from old systemd or other managers.)
 */
function unixDgramTransport(address: NotifyAddress): NotifyTransport {
  if (address.kind === 'abstract') {
    throw new Error(
      `abstract notify socket "@${address.name}" cannot be addressed with unix-dgram 2.0.7 (it copies the address up to the first NUL); use a path socket`,
    );
  }
  // createRequire, not an import: the daemon bundle leaves this native package to be found at run
  // time, and only a daemon run under systemd loads it.
  const unixDgram = createRequire(import.meta.url)('unix-dgram') as {
    createSocket(type: 'unix_dgram'): UnixDgramSocket;
  };
  const socket = unixDgram.createSocket('unix_dgram');
  let reportError: (error: Error) => void = () => undefined;
  socket.on('error', (error) => reportError(error));
  return {
    send(datagram, onError) {
      reportError = onError;
      socket.send(datagram, 0, datagram.length, address.path, (error) => {
        if (error) onError(error);
      });
    },
    close: () => socket.close(),
  };
}
