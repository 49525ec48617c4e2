/**
 * A real MQTT broker for the fleet link's tests and the fleet bench: Debian's mosquitto (2.0),
 * started as a child process with a config of our own in a temp directory.
 *
 * mosquitto cannot listen on port 0 and say which port it got, so a free port is probed and
 * mosquitto is started on it; if another process took the port in between ("Address already in
 * use") it is tried again on a new one. Readiness is a real MQTT connection, not a sleep.
 * Persistence is on (in the directory): `restart()` after `kill()` keeps the sessions and the
 * QoS 1 messages queued for them, as a broker that crashed and came back would.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import mqtt from 'mqtt';
import { probedPort } from '../probed-port.js';

export interface BrokerUser {
  username: string;
  password: string;
  /**
   * 'terminal' (default): read and write its own topics {prefix}/t/USERNAME/#, read its group's
   * ({prefix}/g/GROUP/#). 'backend': everything under {prefix}/.
   */
  role?: 'terminal' | 'backend';
  /** For a terminal: the fleet group whose topics it may read (default: any group). */
  group?: string;
}

export interface BrokerTls {
  /** PEM files: the CA (also for client certificates), the server certificate and key. */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Require a client certificate from this CA (default false). */
  requireCertificate?: boolean;
}

export interface MosquittoOptions {
  /** Users with passwords; none: anonymous access, no ACL. */
  users?: readonly BrokerUser[];
  /** Topic prefix the ACL is written for (default codpos/v1). */
  topicPrefix?: string;
  /** Also a TLS listener (mqtts) on another free port. */
  tls?: BrokerTls;
  /** QoS 1 messages queued per offline session (default 100000). */
  maxQueuedMessages?: number;
  /** Where mosquitto is (default: on PATH, else /usr/sbin/mosquitto). */
  binary?: string;
  /** How long the start may take, readiness included (default 20 s). */
  startTimeoutMs?: number;
}

export interface Broker {
  /** mqtt://127.0.0.1:PORT */
  url: string;
  port: number;
  /** mqtts://127.0.0.1:TLSPORT when a TLS listener was asked for. */
  tlsUrl?: string;
  tlsPort?: number;
  pid: number;
  /** The temp directory: config, password file, ACL, persistence, log. */
  dir: string;
  /** SIGTERM and wait for the exit (mosquitto saves its persistence file on the way out). */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit: a crash, nothing saved beyond the last autosave. */
  kill(): Promise<void>;
  /** Starts it again on the same port(s) with the same persistence. */
  restart(): Promise<void>;
  /**
   * Resolves once mosquitto has written its persistence file after this call (autosave, every
   * second when something changed): what it knew now survives a SIGKILL from then on.
   */
  persisted(timeoutMs?: number): Promise<void>;
  /** Resident memory of the broker process (VmRSS of /proc/PID/status). */
  rssBytes(): number;
  /** Stops it (if running) and removes its directory. */
  remove(): Promise<void>;
}

/** mosquitto on PATH, else Debian's /usr/sbin/mosquitto. */
export function findMosquitto(): string {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin']) {
    if (dir === '') continue;
    const candidate = join(dir, 'mosquitto');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('mosquitto not found on PATH nor in /usr/sbin (Debian: apt-get install mosquitto)');
}

function findPasswd(broker: string): string {
  const besides = join(broker, '..', '..', 'bin', 'mosquitto_passwd');
  for (const candidate of [besides, '/usr/bin/mosquitto_passwd']) if (existsSync(candidate)) return candidate;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'mosquitto_passwd'))) return join(dir, 'mosquitto_passwd');
  }
  throw new Error('mosquitto_passwd not found (Debian: apt-get install mosquitto)');
}

/** The ACL: each terminal its own subtree, its group's topics read-only, the back-end all. */
function aclText(prefix: string, users: readonly BrokerUser[]): string {
  const lines: string[] = [];
  for (const user of users) {
    lines.push(`user ${user.username}`);
    if (user.role === 'backend') {
      lines.push(`topic readwrite ${prefix}/#`);
    } else {
      lines.push(`topic read ${prefix}/g/${user.group ?? '+'}/#`);
    }
    lines.push('');
  }
  // Patterns apply to every user: %u is the user name, so a terminal reaches only its own topics.
  lines.push(`pattern readwrite ${prefix}/t/%u/#`, '');
  return lines.join('\n');
}

class AddressInUse extends Error {}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Broker> {
  const binary = options.binary ?? findMosquitto();
  const dir = mkdtempSync(join(tmpdir(), 'codpos-mosquitto-'));
  const prefix = options.topicPrefix ?? 'codpos/v1';
  const users = options.users ?? [];
  const configFile = join(dir, 'mosquitto.conf');
  const logFile = join(dir, 'mosquitto.log');

  if (users.length > 0) {
    const passwordFile = join(dir, 'passwd');
    writeFileSync(passwordFile, '', { mode: 0o600 });
    const passwd = findPasswd(binary);
    for (const user of users) {
      execFileSync(passwd, ['-b', passwordFile, user.username, user.password], { stdio: ['ignore', 'pipe', 'pipe'] });
    }
    chmodSync(passwordFile, 0o600);
    writeFileSync(join(dir, 'acl'), aclText(prefix, users), { mode: 0o600 });
  }

  const writeConfig = (port: number, tlsPort: number | undefined) => {
    const lines = [
      // Run as root, mosquitto switches to the user `mosquitto`, who cannot read our temp dir.
      `user ${userInfo().username}`,
      'per_listener_settings false',
      `persistence true`,
      `persistence_location ${dir}/`,
      'autosave_interval 1',
      'autosave_on_changes false',
      `max_queued_messages ${options.maxQueuedMessages ?? 100000}`,
      'max_inflight_messages 100',
      'max_keepalive 65535',
      `log_dest file ${logFile}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'connection_messages true',
      users.length > 0 ? 'allow_anonymous false' : 'allow_anonymous true',
      ...(users.length > 0 ? [`password_file ${join(dir, 'passwd')}`, `acl_file ${join(dir, 'acl')}`] : []),
      `listener ${port} 127.0.0.1`,
      'protocol mqtt',
    ];
    if (options.tls && tlsPort !== undefined) {
      lines.push(
        `listener ${tlsPort} 127.0.0.1`,
        'protocol mqtt',
        `cafile ${options.tls.caFile}`,
        `certfile ${options.tls.certFile}`,
        `keyfile ${options.tls.keyFile}`,
        `require_certificate ${options.tls.requireCertificate ? 'true' : 'false'}`,
      );
    }
    writeFileSync(configFile, lines.join('\n') + '\n');
  };

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let port = 0;
  let tlsPort: number | undefined;

  const launch = async (): Promise<void> => {
    let stderr = '';
    const proc = spawn(binary, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    proc.stdout!.resume();
    let exitCode: number | null | undefined;
    exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        exitCode = code ?? (signal ? -1 : null);
        resolve();
      });
      proc.once('error', (error) => {
        stderr += error.message;
        exitCode = -1;
        resolve();
      });
    });
    child = proc;
    const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
    for (;;) {
      if (exitCode !== undefined) {
        const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
        const said = `${stderr}\n${log}`.trim().split('\n').slice(-5).join(' | ');
        if (/Address already in use/i.test(said)) throw new AddressInUse(said);
        throw new Error(`mosquitto exited (code ${exitCode}) while starting: ${said || 'it said nothing'}`);
      }
      if (await answers(port, users)) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        await exited;
        throw new Error(`mosquitto did not accept an MQTT connection on 127.0.0.1:${port} in time: ${stderr.trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  for (let attempt = 1; ; attempt++) {
    port = await probedPort();
    tlsPort = options.tls ? await probedPort() : undefined;
    writeConfig(port, tlsPort);
    try {
      await launch();
      break;
    } catch (error) {
      if (!(error instanceof AddressInUse) || attempt === 5) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }

  const signal = async (name: NodeJS.Signals) => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill(name);
    await exited;
  };
  const broker: Broker = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    ...(tlsPort !== undefined ? { tlsUrl: `mqtts://127.0.0.1:${tlsPort}`, tlsPort } : {}),
    get pid() {
      return child?.pid ?? -1;
    },
    dir,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    async restart() {
      await signal('SIGTERM');
      // The same port: the old socket is closed (SO_REUSEADDR), but another process may have
      // taken it meanwhile; a few tries, then the error names it.
      for (let attempt = 1; ; attempt++) {
        try {
          await launch();
          return;
        } catch (error) {
          if (!(error instanceof AddressInUse) || attempt === 10) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    },
    async persisted(timeoutMs = 30_000) {
      const file = join(dir, 'mosquitto.db');
      const since = Date.now();
      const written = () => existsSync(file) && statSync(file).mtimeMs > since;
      while (!written()) {
        if (Date.now() - since > timeoutMs) throw new Error(`mosquitto did not write ${file} in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    rssBytes() {
      const status = readFileSync(`/proc/${child?.pid}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      if (!match) throw new Error(`no VmRSS in /proc/${child?.pid}/status`);
      return Number(match[1]) * 1024;
    },
    async remove() {
      await signal('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return broker;
}

/**
 * Whether an MQTT client gets a CONNACK on the port. Any CONNACK (even "not authorized" from an
 * anonymous probe when users are set) means the broker is up.
 */
async function answers(port: number, users: readonly BrokerUser[]): Promise<boolean> {
  const user = users[0];
  return new Promise<boolean>((resolve) => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 5,
      clientId: `codpos-probe-${process.pid}-${Math.floor(Math.random() * 1e9)}`,
      reconnectPeriod: 0,
      connectTimeout: 2000,
      ...(user ? { username: user.username, password: user.password } : {}),
    });
    const done = (up: boolean) => {
      client.end(true);
      resolve(up);
    };
    client.once('connect', () => done(true));
    client.once('error', (error: Error & { code?: unknown }) => done(typeof error.code === 'number'));
    client.once('close', () => done(false));
  });
}
