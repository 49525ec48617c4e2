/**
 * The host link's bottom layer (jPOS: the channel): a TCP connection to the acquirer
 * that moves framed ISO 8583 messages and nothing else. It knows the length header,
 * the TPDU and when the socket is up; it does not know MTIs, STANs or time-outs
 * (those are the mux's). A lost connection is a PosError with `disconnected: true`,
 * and the channel reconnects by itself with backoff until it is closed.
 *
 * With `host.tls` the connection is TLS 1.2+ (node:tls) against our own CA bundle, the
 * configured name and optional SPKI pins; nothing is written before the handshake is done.
 * A handshake that fails is a PosError of its own code (CODPOS_HOST_TLS_*) that still has
 * `disconnected: true`, so a payment is declined "not sent" and the journal says why.
 */
import { EventEmitter } from 'node:events';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP, connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { checkServerIdentity, connect as tlsConnect, type PeerCertificate } from 'node:tls';
import type { Config, HostTls } from '../../config/schema.js';
import { PosError } from '../../config/errors.js';
import { inDataDir } from '../../config/paths.js';
import {
  IsoStreamFramer,
  framingPreset,
  frameMessage,
  replyTpdu,
  resolveFraming,
  type FramingOptions,
  type Tpdu,
} from '../../emv/iso8583/index.js';
import type { Logger } from '../log.js';

export interface ReconnectPolicy {
  /** Delay before the first reconnect attempt. */
  initialMs: number;
  /** Ceiling of the doubling delay. */
  maxMs: number;
}

export interface ChannelOptions {
  address: string;
  port: number;
  framing: FramingOptions;
  /** Sent in front of every message when the framing has a TPDU; a reply must carry it swapped. */
  tpdu?: Tpdu;
  connectTimeoutMs: number;
  reconnect?: ReconnectPolicy;
  log?: Logger;
  /** TLS material, read once from the files `host.tls` names; absent: plain TCP. */
  tls?: ChannelTls;
}

/** What a TLS dial needs, already read from disk. */
export interface ChannelTls {
  /** PEM CA bundle: the only roots trusted (never the system store). */
  ca: Buffer;
  /** Client certificate chain and key (PEM) for mutual TLS. */
  cert?: Buffer;
  key?: Buffer;
  /** The name the certificate must carry (and the SNI when it is not an IP address). */
  serverName: string;
  /** Base64 SHA-256 of the SubjectPublicKeyInfo the leaf must have, one of. */
  pinSha256?: string[];
  minVersion: 'TLSv1.2' | 'TLSv1.3';
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { initialMs: 200, maxMs: 10_000 };

/** The framing a `host.framing` name and `host.lengthIncludesTpdu` describe. */
export function hostFraming(host: Pick<Config['host'], 'framing' | 'lengthIncludesTpdu'>): FramingOptions {
  return { ...framingPreset(host.framing), lengthIncludesHeaders: host.lengthIncludesTpdu };
}

/** `host.tpdu` (10 hex digits: id, destination NII, source NII) as a Tpdu. */
export function parseTpdu(hex: string): Tpdu {
  if (!/^[0-9A-Fa-f]{10}$/.test(hex)) {
    throw new PosError(
      'CODPOS_CONFIG_INVALID',
      `host.tpdu: expected 10 hex digits (id, destination NII, source NII), got ${JSON.stringify(hex)}`,
      { details: { problems: ['host.tpdu'] } },
    );
  }
  const upper = hex.toUpperCase();
  return { id: upper.slice(0, 2), destination: upper.slice(2, 6), source: upper.slice(6, 10) };
}

/**
 * Channel options from the `host` section of the config. `dataDir` (config.data.dir) is
 * what relative `host.tls` file settings resolve against; the TLS files are read here, once.
 */
export function channelOptionsFromConfig(
  host: Config['host'],
  extra: { log?: Logger; reconnect?: ReconnectPolicy; dataDir?: string; env?: NodeJS.ProcessEnv } = {},
): ChannelOptions {
  const { dataDir, env, ...rest } = extra;
  const framing = hostFraming(host);
  return {
    address: host.address,
    port: host.port,
    framing,
    ...(resolveFraming(framing).tpdu ? { tpdu: parseTpdu(host.tpdu) } : {}),
    connectTimeoutMs: host.connectTimeoutMs,
    ...(host.tls ? { tls: loadChannelTls(host.tls, host.address, dataDir ?? '.', env) } : {}),
    ...rest,
  };
}

/** The file settings of `host.tls`, with their config paths. */
export const TLS_FILE_SETTINGS = ['caFile', 'certFile', 'keyFile'] as const;

/**
 * Where a `host.tls` file setting points: `credential:NAME` is systemd's LoadCredential=
 * ($CREDENTIALS_DIRECTORY/NAME); anything else is a path, relative to data.dir unless absolute.
 */
export function resolveTlsFile(
  setting: string,
  value: string,
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const credential = /^credential:(.*)$/.exec(value);
  if (credential === null) return inDataDir(dataDir, value);
  const name = credential[1]!;
  if (!/^[A-Za-z0-9_.@-]+$/.test(name) || name === '.' || name === '..')
    throw tlsConfigError(setting, `${JSON.stringify(value)}: expected credential:NAME with a plain file name`);
  const directory = env.CREDENTIALS_DIRECTORY;
  if (directory === undefined || directory === '')
    throw tlsConfigError(
      setting,
      `${value}: CREDENTIALS_DIRECTORY is not set (give the unit LoadCredential=${name}:/path/to/file, or set a path)`,
    );
  return join(directory, name);
}

/** Reads the files `host.tls` names. A file that cannot be read is a config error naming the setting. */
export function loadChannelTls(
  tls: HostTls,
  address: string,
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): ChannelTls {
  const read = (setting: (typeof TLS_FILE_SETTINGS)[number]): Buffer | undefined => {
    const value = tls[setting];
    if (value === undefined) return undefined;
    const file = resolveTlsFile(`host.tls.${setting}`, value, dataDir, env);
    try {
      return readFileSync(file);
    } catch (error) {
      throw tlsConfigError(
        `host.tls.${setting}`,
        `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        error,
      );
    }
  };
  const cert = read('certFile');
  const key = read('keyFile');
  return {
    ca: read('caFile')!,
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    serverName: tls.serverName ?? address,
    ...(tls.pinSha256 ? { pinSha256: tls.pinSha256 } : {}),
    minVersion: tls.minVersion,
  };
}

function tlsConfigError(setting: string, problem: string, cause?: unknown): PosError {
  const line = `${setting}: ${problem}`;
  return new PosError('CODPOS_CONFIG_INVALID', line, {
    ...(cause === undefined ? {} : { cause }),
    details: { problems: [line] },
  });
}

/** Base64 SHA-256 of a certificate's SubjectPublicKeyInfo (DER): what `host.tls.pinSha256` lists. */
export function spkiSha256(certificateDer: Buffer): string {
  const spki = new X509Certificate(certificateDer).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** OpenSSL verify codes that mean the chain does not lead to a CA of the bundle. */
const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
]);
const EXPIRED_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
]);

/**
 * A TLS failure during the handshake as a PosError with its own code: the operator's fix
 * differs (install the acquirer's CA, correct serverName, have the acquirer renew, update the
 * pins), so alerting can tell them apart. Undefined: not a TLS failure (a TCP one).
 */
export function tlsFailure(error: Error, where: string): PosError | undefined {
  // Our own identity check's verdict (name, pin) arrives as the socket's error.
  if (error instanceof PosError) return error.code.startsWith('CODPOS_HOST_TLS_') ? error : undefined;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const say = (
    posCode: 'CODPOS_HOST_TLS_UNTRUSTED' | 'CODPOS_HOST_TLS_EXPIRED' | 'CODPOS_HOST_TLS_HANDSHAKE',
    what: string,
  ) =>
    new PosError(posCode, `TLS to the acquirer at ${where} failed: ${what} (${code}: ${error.message})`, {
      disconnected: true,
      cause: error,
      details: { reason: code },
    });
  if (UNTRUSTED_CODES.has(code))
    return say('CODPOS_HOST_TLS_UNTRUSTED', 'its certificate does not chain to a CA of host.tls.caFile');
  if (EXPIRED_CODES.has(code)) return say('CODPOS_HOST_TLS_EXPIRED', 'its certificate is out of its validity period');
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))
    return say('CODPOS_HOST_TLS_HANDSHAKE', 'the handshake was refused');
  return undefined;
}

/**
 * The identity check of a TLS dial: the standard name check against the configured name, then
 * the SPKI pins. Returns the PosError that ends the handshake, or undefined.
 */
export function checkAcquirerIdentity(
  tls: ChannelTls,
  certificate: PeerCertificate,
  where: string,
): PosError | undefined {
  const nameError = checkServerIdentity(tls.serverName, certificate) as
    (Error & { code?: string; reason?: string }) | undefined;
  if (nameError) {
    return new PosError(
      'CODPOS_HOST_TLS_NAME',
      `TLS to the acquirer at ${where} failed: its certificate is not for ${tls.serverName} (${nameError.code ?? 'ERR_TLS_CERT_ALTNAME_INVALID'}: ${nameError.reason ?? nameError.message})`,
      {
        disconnected: true,
        cause: nameError,
        details: { reason: nameError.code ?? 'ERR_TLS_CERT_ALTNAME_INVALID', expected: tls.serverName },
      },
    );
  }
  if (tls.pinSha256 !== undefined) {
    const seen = spkiSha256(certificate.raw);
    if (!tls.pinSha256.includes(seen)) {
      return new PosError(
        'CODPOS_HOST_TLS_PIN',
        `TLS to the acquirer at ${where} failed: its public key sha256/${seen} matches none of host.tls.pinSha256 (${tls.pinSha256.join(', ')})`,
        {
          disconnected: true,
          details: { reason: 'PIN_MISMATCH', seen, expected: tls.pinSha256 },
        },
      );
    }
  }
  return undefined;
}

export function disconnectedError(message: string, cause?: unknown): PosError {
  return new PosError('CODPOS_HOST_DISCONNECTED', message, {
    disconnected: true,
    ...(cause === undefined ? {} : { cause }),
  });
}

type ChannelState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closed';

/**
 * Events: `message` (Buffer: one ISO 8583 message without its frame), `connected`,
 * `disconnected` (PosError), `frame-error` (PosError: a frame dropped for a bad TPDU).
 */
export class HostChannel extends EventEmitter {
  readonly options: ChannelOptions;
  private socket: Socket | undefined;
  private framer: IsoStreamFramer;
  private state: ChannelState = 'idle';
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Callers waiting for the link; `patient` ones (requests) outlive a failed dial, the others (open) do not. */
  private waiters: Array<{ resolve: () => void; reject: (error: unknown) => void; patient: boolean }> = [];
  private lastError: PosError | undefined;
  /** Why we dropped the connection ourselves, for the `disconnected` event. */
  private dropReason: PosError | undefined;
  /** Frames dropped because their TPDU did not answer ours. */
  droppedFrames = 0;
  connects = 0;

  constructor(options: ChannelOptions) {
    super();
    this.options = options;
    const framing = resolveFraming(options.framing);
    if (framing.tpdu && options.tpdu === undefined)
      throw new PosError('CODPOS_CONFIG_INVALID', 'host.tpdu: the framing has a TPDU; configure one', {
        details: { problems: ['host.tpdu'] },
      });
    this.framer = new IsoStreamFramer(options.framing);
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** Why the link is down, when it is. */
  get problem(): PosError | undefined {
    return this.state === 'connected' ? undefined : this.lastError;
  }

  /**
   * Connects; resolves once the link is up. When the first try fails the channel keeps
   * trying in the background, and this rejects with the PosError of that first try.
   */
  async open(): Promise<void> {
    if (this.state === 'closed') throw disconnectedError('the host channel is closed');
    if (this.state === 'idle') this.dial();
    if (this.state === 'connected') return;
    await new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject, patient: false }));
  }

  /** Resolves when the link is up, waiting up to `timeoutMs` for a reconnect; else a disconnected PosError. */
  async ready(timeoutMs = this.options.connectTimeoutMs): Promise<void> {
    if (this.state === 'connected') return;
    if (this.state === 'closed') throw disconnectedError('the host channel is closed');
    if (this.state === 'idle') this.dial();
    if (this.state === 'waiting') {
      // Do not sit out the whole backoff when a request is waiting for the link.
      clearTimeout(this.retryTimer);
      this.dial();
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          this.lastError ??
            disconnectedError(`no connection to the acquirer at ${this.where()} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      const waiter = {
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (error: unknown) => (clearTimeout(timer), reject(error)),
        // A failed dial while a request waits: keep waiting for the next one until the deadline.
        patient: true,
      };
      this.waiters.push(waiter);
    });
  }

  /** Frames and writes one message. Not connected: a disconnected PosError (the mux decides whether to wait). */
  async send(message: Buffer): Promise<void> {
    const socket = this.socket;
    if (this.state !== 'connected' || socket === undefined)
      throw this.lastError ?? disconnectedError(`not connected to the acquirer at ${this.where()}`);
    const frame = frameMessage(message, this.options.framing, this.options.tpdu ? { tpdu: this.options.tpdu } : {});
    await new Promise<void>((resolve, reject) => {
      socket.write(frame, (error) =>
        error
          ? reject(disconnectedError(`writing to the acquirer at ${this.where()} failed: ${error.message}`, error))
          : resolve(),
      );
    });
  }

  /** Closes for good: no reconnect. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    this.socket = undefined;
    const error = disconnectedError('the host channel was closed');
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.destroy();
      });
    }
  }

  private where(): string {
    return `${this.options.address}:${this.options.port}`;
  }

  private dial(): void {
    this.state = 'connecting';
    const tls = this.options.tls;
    const socket: Socket = tls
      ? tlsConnect({
          host: this.options.address,
          port: this.options.port,
          ca: tls.ca,
          ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
          // SNI carries host names only (RFC 6066); an IP is still checked against the certificate's IP SANs.
          ...(isIP(tls.serverName) === 0 ? { servername: tls.serverName } : {}),
          minVersion: tls.minVersion,
          rejectUnauthorized: true,
          checkServerIdentity: (_name, certificate) => checkAcquirerIdentity(tls, certificate, this.where()),
        })
      : tcpConnect({ host: this.options.address, port: this.options.port });
    socket.setNoDelay(true);
    this.socket = socket;
    let settled = false;
    const timer = setTimeout(() => {
      socket.destroy(
        new PosError(
          'CODPOS_HOST_CONNECT',
          `no ${tls ? 'TLS session' : 'TCP connection'} to the acquirer at ${this.where()} within ${this.options.connectTimeoutMs} ms`,
          { disconnected: true },
        ),
      );
    }, this.options.connectTimeoutMs);
    // Over TLS the link is up once the handshake (chain, name, pins) is done: nothing is written before.
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      settled = true;
      if (this.state === 'closed') return void socket.destroy();
      this.state = 'connected';
      this.attempt = 0;
      this.connects++;
      this.lastError = undefined;
      this.framer = new IsoStreamFramer(this.options.framing); // a new connection starts a new stream
      this.options.log?.info({ host: this.where() }, 'host link connected');
      for (const waiter of this.waiters.splice(0)) waiter.resolve();
      this.emit('connected');
    });
    socket.on('data', (chunk: Buffer) => this.receive(socket, chunk));
    socket.on('error', (error) => {
      // A TLS 1.3 server checks the client certificate after our side of the handshake is done:
      // its refusal (an alert) can come just after secureConnect, and is still a TLS failure.
      const tlsError = tls ? tlsFailure(error, this.where()) : undefined;
      if (tlsError) {
        if (settled) this.dropReason = tlsError;
        // Said once per kind of failure, not at every reconnect.
        const again = this.lastError?.code === tlsError.code;
        this.lastError = tlsError;
        if (!again)
          this.options.log?.warn(
            { host: this.where(), code: tlsError.code, reason: tlsError.details?.reason },
            'host link TLS handshake failed',
          );
        return;
      }
      this.lastError =
        error instanceof PosError
          ? error
          : new PosError(
              settled ? 'CODPOS_HOST_DISCONNECTED' : 'CODPOS_HOST_CONNECT',
              `${settled ? 'lost the connection to' : 'cannot connect to'} the acquirer at ${this.where()}: ${error.message}`,
              { disconnected: true, cause: error },
            );
    });
    socket.once('close', () => {
      clearTimeout(timer);
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.state === 'closed') return;
      const dropReason = this.dropReason;
      this.dropReason = undefined;
      const wasConnected = this.state === 'connected';
      const error = wasConnected
        ? (dropReason ?? disconnectedError(`the acquirer at ${this.where()} closed the connection`, this.lastError))
        : (this.lastError ??
          new PosError('CODPOS_HOST_CONNECT', `cannot connect to the acquirer at ${this.where()}`, {
            disconnected: true,
          }));
      this.lastError = error;
      if (wasConnected) {
        this.options.log?.warn({ host: this.where(), code: error.code }, 'host link lost; reconnecting');
        this.emit('disconnected', error);
      } else {
        const waiting = this.waiters;
        this.waiters = waiting.filter((waiter) => waiter.patient);
        for (const waiter of waiting) if (!waiter.patient) waiter.reject(error);
      }
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    const policy = this.options.reconnect ?? DEFAULT_RECONNECT;
    const delay = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(this.attempt, 20));
    this.attempt++;
    this.state = 'waiting';
    this.retryTimer = setTimeout(() => {
      if (this.state === 'waiting') this.dial();
    }, delay);
    this.retryTimer.unref();
  }

  private receive(socket: Socket, chunk: Buffer): void {
    let frames;
    try {
      frames = this.framer.push(chunk);
    } catch (error) {
      // A length header we cannot read: the stream is lost, start over on a new connection.
      this.dropReason = disconnectedError(
        `the acquirer sent a frame the link cannot read (${(error as Error).message}); connection dropped`,
        error,
      );
      socket.destroy();
      return;
    }
    for (const frame of frames) {
      const sent = this.options.tpdu;
      if (sent !== undefined) {
        const expected = replyTpdu(sent);
        const got = frame.tpdu;
        if (got === undefined || got.destination !== expected.destination || got.source !== expected.source) {
          this.droppedFrames++;
          const error = new PosError(
            'CODPOS_HOST_BAD_TPDU',
            `a reply's TPDU ${got ? got.id + got.destination + got.source : '(none)'} does not answer ours (expected ${expected.id}${expected.destination}${expected.source}); frame dropped`,
            {
              details: { expected, got },
            },
          );
          this.options.log?.warn({ code: error.code, expected, got }, 'host reply with a wrong TPDU dropped');
          this.emit('frame-error', error);
          continue;
        }
      }
      this.emit('message', frame.message);
    }
  }
}
