/**
 * The fleet link: one MQTT 5 connection from the terminal to the operator's broker
 * (docs/fleet.md). It keeps a persistent session (clean start off, a session expiry), so commands
 * and parameter packages sent while the box is in a dead zone wait at the broker; it leaves a last
 * will that marks the box offline when its connection dies without a DISCONNECT; it publishes
 * what waits in the outbox (FleetOutbox) in order, each message acknowledged to the outbox only
 * on the broker's PUBACK, and the rest released for the next connection.
 *
 * MQTT.js reconnects on a fixed period; thousands of boxes coming back from the same outage must
 * not all knock at once, so its own reconnect is off (reconnectPeriod 0) and the link reconnects
 * itself, with a fresh client each time, after a wait doubling from reconnectMinMs to
 * reconnectMaxMs, each wait drawn between half and all of its value.
 */
import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { PosError } from '../../config/errors.js';
import { IdGenerator } from '../../spool/ids.js';
import type { Logger } from '../log.js';
import { parseInbound } from './messages.js';
import { fleetTopics, type FleetTopics } from './topics.js';
import type { FleetLinkState, FleetLinkStats, FleetMessage, FleetOutbox, InboundKind, OutboundKind } from './types.js';

/** What the config gives (options.ts: fleetLinkSettingsFromConfig). */
export interface FleetLinkSettings {
  /** mqtt://host:port or mqtts://host:port. */
  url: string;
  /** The MQTT client id and the T of the topics. */
  terminalId: string;
  group: string;
  topicPrefix: string;
  username?: string;
  password?: string;
  /** For mqtts: the CAs the broker's certificate must chain to (absent: the system store). */
  ca?: Buffer | string;
  /** For mqtts: a client certificate and its key. */
  cert?: Buffer | string;
  key?: Buffer | string;
  /** For mqtts: the host name the broker's certificate must name (SNI), when the URL's host is a name. */
  servername?: string;
  keepaliveSeconds: number;
  sessionExpirySeconds: number;
  connectTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

export interface FleetLinkOptions extends FleetLinkSettings {
  outbox: FleetOutbox;
  logger?: Logger;
  /** The software version the state message carries. */
  version?: string;
  /** Makes outbound message ids (UUIDv7). */
  ids?: IdGenerator;
  /** 0..1, for the reconnect jitter (tests pass a seeded one). */
  random?: () => number;
  /** Milliseconds since the epoch, for the `at` of messages. */
  now?: () => number;
  /** Most messages published before their PUBACKs are awaited (default 100). */
  batchSize?: number;
}

export interface FleetLinkEvents {
  /** A checked inbound message (messages.ts), with the kind its topic carries. */
  message: [kind: InboundKind, message: FleetMessage, topic: string];
  /** An inbound message that failed its check and was dropped (acknowledged all the same). */
  rejected: [error: PosError, topic: string];
  /** Each connection made, with whether the broker still had the session. */
  connected: [info: { sessionPresent: boolean }];
  state: [state: FleetLinkState];
}

interface Connection {
  client: MqttClient;
  /** Resolves when this connection closes (or never came up). */
  lost: Promise<void>;
  up: boolean;
  /** Its close was handled (ending the client must not schedule a second reconnect). */
  closed: boolean;
}

const REFUSAL_REASONS: Record<number, string> = {
  128: 'unspecified error',
  129: 'malformed packet',
  130: 'protocol error',
  131: 'implementation specific error',
  132: 'unsupported protocol version',
  133: 'client identifier not valid',
  134: 'bad user name or password',
  135: 'not authorized',
  136: 'server unavailable',
  137: 'server busy',
  138: 'banned',
  140: 'bad authentication method',
  149: 'packet too large',
  151: 'quota exceeded',
  153: 'payload format invalid',
  154: 'retain not supported',
  155: 'QoS not supported',
  156: 'use another server',
  157: 'server moved',
  159: 'connection rate exceeded',
};

export class FleetLink extends EventEmitter<FleetLinkEvents> {
  readonly topics: FleetTopics;
  private linkState: FleetLinkState = 'stopped';
  private connection: Connection | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failedAttempts = 0;
  private draining = false;
  private lastHealth: string | undefined;
  private readonly loggedProblems = new Set<string>();
  private readonly counters = { connects: 0, published: 0, received: 0, sessionPresent: false };
  private lastError: { code: string; message: string } | undefined;
  private readonly ids: IdGenerator;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly batchSize: number;

  constructor(private readonly options: FleetLinkOptions) {
    super();
    this.topics = fleetTopics(options.topicPrefix, options.terminalId, options.group);
    this.ids = options.ids ?? new IdGenerator();
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.batchSize = options.batchSize ?? 100;
  }

  get state(): FleetLinkState {
    return this.linkState;
  }

  stats(): FleetLinkStats {
    return {
      state: this.linkState,
      connects: this.counters.connects,
      sessionPresent: this.counters.sessionPresent,
      published: this.counters.published,
      received: this.counters.received,
      ...(this.lastError ? { lastError: { ...this.lastError } } : {}),
    };
  }

  /** Messages waiting in the outbox (not yet acknowledged by the broker). */
  outboxDepth(): number {
    return this.options.outbox.depth();
  }

  /** Starts connecting; never throws because the broker is away (the link retries). */
  start(): void {
    if (this.linkState !== 'stopped') return;
    this.failedAttempts = 0;
    this.connect();
  }

  /**
   * Says the terminal is going offline (state, retained), then disconnects cleanly: no last will.
   * Messages still waiting stay in the outbox for the next start.
   */
  async stop(): Promise<void> {
    if (this.linkState === 'stopped') return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const connection = this.connection;
    this.connection = undefined;
    this.setState('stopped');
    if (!connection) return;
    const { client } = connection;
    if (connection.up && client.connected) {
      await Promise.race([
        new Promise<void>((resolve) => {
          client.publish(this.topics.state, this.statePayload(false), { qos: 1, retain: true }, () => resolve());
        }),
        connection.lost,
        delay(this.options.connectTimeoutMs),
      ]);
      await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    } else {
      await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    }
  }

  /**
   * Makes a message (a UUIDv7 id, now, this terminal), stores it in the outbox (durable when the
   * outbox is), and starts draining. Resolves with the message once it is stored, not sent.
   */
  async send<Data extends Record<string, unknown>>(
    kind: OutboundKind,
    type: string,
    data: Data,
  ): Promise<FleetMessage<Data>> {
    const message: FleetMessage<Data> = {
      id: this.ids.next(),
      type,
      at: new Date(this.now()).toISOString(),
      terminal: this.options.terminalId,
      data,
    };
    await this.options.outbox.enqueue(kind, message);
    void this.drain();
    return message;
  }

  /**
   * Publishes now what others stored in the outbox behind the link's back (the params service
   * queues its reports in stream params-report itself): without it they would wait for the next
   * send or connection.
   */
  sendNow(): void {
    void this.drain();
  }

  /**
   * The terminal's health, retained at the broker (the latest only, never queued): published now
   * when connected, and at each connect until a newer one is given.
   */
  publishHealth(health: Record<string, unknown>): void {
    this.lastHealth = JSON.stringify(health);
    const connection = this.connection;
    if (connection?.up) connection.client.publish(this.topics.health, this.lastHealth, { qos: 1, retain: true });
  }

  private setState(state: FleetLinkState): void {
    if (this.linkState === state) return;
    this.linkState = state;
    this.emit('state', state);
  }

  private statePayload(online: boolean): string {
    return JSON.stringify({ online, at: new Date(this.now()).toISOString(), version: this.options.version ?? null });
  }

  private connect(): void {
    this.setState('connecting');
    const o = this.options;
    const clientOptions: IClientOptions = {
      protocolVersion: 5,
      clientId: o.terminalId,
      clean: false,
      properties: { sessionExpiryInterval: o.sessionExpirySeconds },
      keepalive: o.keepaliveSeconds,
      connectTimeout: o.connectTimeoutMs,
      reconnectPeriod: 0,
      // Subscriptions live in the broker's session; they are made again only when it was lost.
      resubscribe: false,
      will: { topic: this.topics.state, payload: Buffer.from(this.statePayload(false)), qos: 1, retain: true },
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
      ...(o.cert !== undefined ? { cert: o.cert } : {}),
      ...(o.key !== undefined ? { key: o.key } : {}),
      ...(o.servername !== undefined ? { servername: o.servername } : {}),
      rejectUnauthorized: true,
    };
    const client = mqtt.connect(o.url, clientOptions);
    let markLost!: () => void;
    const connection: Connection = {
      client,
      up: false,
      closed: false,
      lost: new Promise<void>((resolve) => (markLost = resolve)),
    };
    this.connection = connection;
    let attemptError: PosError | undefined;

    client.on('connect', (connack) => {
      if (this.connection !== connection) return;
      connection.up = true;
      this.failedAttempts = 0;
      this.loggedProblems.clear();
      this.counters.connects++;
      this.counters.sessionPresent = connack.sessionPresent;
      this.setState('connected');
      this.options.logger?.info(
        { url: o.url, sessionPresent: connack.sessionPresent },
        'fleet link connected to the broker',
      );
      if (!connack.sessionPresent) this.subscribe(client);
      client.publish(this.topics.state, this.statePayload(true), { qos: 1, retain: true });
      if (this.lastHealth !== undefined) client.publish(this.topics.health, this.lastHealth, { qos: 1, retain: true });
      this.emit('connected', { sessionPresent: connack.sessionPresent });
      void this.drain();
    });
    client.on('message', (topic, payload) => {
      if (this.connection !== connection) return;
      this.receive(topic, payload);
    });
    client.on('error', (error) => {
      if (this.connection !== connection) return;
      attemptError = this.connectionError(error);
      this.lastError = { code: attemptError.code, message: attemptError.message };
    });
    client.on('close', () => {
      markLost();
      if (this.connection !== connection || connection.closed) return;
      connection.closed = true;
      const wasUp = connection.up;
      connection.up = false;
      client.end(true);
      if (!wasUp && attemptError === undefined) {
        attemptError = new PosError(
          'CODPOS_FLEET_CONNECT',
          `${o.url}: the connection closed before the broker answered`,
        );
        this.lastError = { code: attemptError.code, message: attemptError.message };
      }
      if (attemptError) this.logProblem(attemptError);
      else if (wasUp) this.options.logger?.warn({ url: o.url }, 'fleet link lost its connection to the broker');
      attemptError = undefined;
      this.setState('offline');
      this.scheduleReconnect();
    });
  }

  private subscribe(client: MqttClient): void {
    client.subscribe(
      Object.fromEntries(this.topics.subscriptions.map((topic) => [topic, { qos: 1 as const }])),
      {},
      (error, granted) => {
        if (error) {
          this.options.logger?.warn({ err: error }, 'fleet link could not subscribe');
          return;
        }
        for (const grant of granted ?? []) {
          if (grant.qos > 2)
            this.options.logger?.warn(
              { topic: grant.topic, reasonCode: grant.qos },
              `fleet link: the broker refused the subscription to ${grant.topic}`,
            );
        }
      },
    );
  }

  private receive(topic: string, payload: Buffer): void {
    const kind = this.topics.kindOf(topic);
    if (kind === undefined) return;
    this.counters.received++;
    try {
      const inbound = parseInbound(kind, topic, payload, this.options.terminalId);
      this.emit('message', inbound.kind, inbound.message as FleetMessage, topic);
    } catch (error) {
      if (!(error instanceof PosError)) throw error;
      // Dropped, not redelivered: MQTT.js acknowledges it when this handler returns.
      this.options.logger?.warn({ err: error, topic }, 'fleet link dropped a message');
      this.emit('rejected', error, topic);
    }
  }

  private connectionError(error: Error & { code?: unknown }): PosError {
    const url = this.options.url;
    if (typeof error.code === 'number' && error.code >= 128) {
      const reason = REFUSAL_REASONS[error.code] ?? `reason code ${error.code}`;
      return new PosError('CODPOS_FLEET_BROKER_REFUSED', `${url}: the broker refused the connection (${reason})`, {
        cause: error,
        details: { reasonCode: error.code },
      });
    }
    return new PosError('CODPOS_FLEET_CONNECT', `${url}: ${error.message}`, {
      cause: error,
      disconnected: true,
      details: typeof error.code === 'string' ? { errno: error.code } : {},
    });
  }

  /** Once per kind of problem until the next good connection, not at every retry. */
  private logProblem(error: PosError): void {
    const detail = error.details?.reasonCode ?? error.details?.errno;
    const kind = `${error.code}:${typeof detail === 'number' || typeof detail === 'string' ? detail : error.message}`;
    if (this.loggedProblems.has(kind)) return;
    this.loggedProblems.add(kind);
    this.options.logger?.warn({ err: error }, 'fleet link cannot reach the broker; retrying');
  }

  private scheduleReconnect(): void {
    if (this.linkState === 'stopped') return;
    this.failedAttempts++;
    const wait = reconnectDelay(
      this.failedAttempts,
      this.options.reconnectMinMs,
      this.options.reconnectMaxMs,
      this.random(),
    );
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.linkState !== 'stopped') this.connect();
    }, wait);
  }

  /**
   * Publishes what the outbox holds, a batch at a time, in order: each message is acknowledged to
   * the outbox on its PUBACK; when the connection drops first, the rest go back in line.
   */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (;;) {
        const connection = this.connection;
        if (!connection?.up) return;
        const batch = this.options.outbox.lease(this.batchSize);
        if (batch.length === 0) return;
        const acked = new Set<string>();
        const failures: Error[] = [];
        const publishes = batch.map(
          ({ kind, message }) =>
            new Promise<void>((resolve) => {
              connection.client.publish(this.topics.outbound[kind], JSON.stringify(message), { qos: 1 }, (error) => {
                if (error) failures.push(error);
                else acked.add(message.id);
                resolve();
              });
            }),
        );
        await Promise.race([Promise.all(publishes), connection.lost]);
        const done = batch.filter(({ message }) => acked.has(message.id)).map(({ message }) => message.id);
        const back = batch.filter(({ message }) => !acked.has(message.id)).map(({ message }) => message.id);
        this.options.outbox.ack(done);
        this.options.outbox.release(back);
        this.counters.published += done.length;
        if (back.length > 0) {
          if (failures.length > 0 && connection.up) {
            // The broker answered a PUBACK with an error (not authorized, quota): try again after a wait.
            this.options.logger?.warn({ err: failures[0] }, 'fleet link: the broker did not take a message');
            await delay(this.options.reconnectMinMs);
            continue;
          }
          return;
        }
      }
    } finally {
      this.draining = false;
    }
  }
}

/**
 * The wait before the next attempt after `failures` failed ones in a row (1 or more): doubling from
 * `minMs`, capped at `maxMs`, drawn between half and all of that with `random` (0..1) so that boxes
 * that lost the broker together do not come back together.
 */
export function reconnectDelay(failures: number, minMs: number, maxMs: number, random: number): number {
  const full = Math.min(maxMs, minMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
  return Math.round(full * (0.5 + 0.5 * random));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
