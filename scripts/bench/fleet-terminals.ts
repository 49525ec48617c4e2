/**
 * The fleet bench's simulated terminals (fleet.bench.ts), two kinds behind one interface so the
 * same measurements run on both:
 *
 * - `linkTerminal`: what a box runs, the real FleetLink (runtime/fleet/link.ts) with a memory
 *   outbox instead of the spool: its own persistent MQTT 5 session (clean false, QoS 1, the last
 *   will), the daemon's subscriptions, inbound messages parsed and checked;
 * - `bareTerminal`: the peer, a bare MQTT.js client with the same session, will and
 *   subscriptions and nothing else (no parsing beyond JSON.parse, no outbox): what the link adds
 *   over the client library is the ratio between the two.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { FleetLink } from '../../runtime/fleet/link.js';
import { MemoryFleetOutbox } from '../../runtime/fleet/memory-outbox.js';

/** One simulated box, connected to the broker at `url` as terminal `id`. */
export interface SimulatedTerminal {
  readonly id: string;
  /**
   * Resolves once the terminal is connected. It then subscribes (when the broker had no session)
   * and publishes its state online, retained, in that order on its connection: a back-end that
   * sees the state knows the subscriptions are in place.
   */
  start(): Promise<void>;
  /** Publishes health (retained, QoS 1) without waiting for the broker, as the link does. */
  publishHealth(health: Record<string, unknown>): void;
  /** Whether its connection is up now. */
  connected(): boolean;
  /** Disconnects cleanly (no last will). */
  stop(): Promise<void>;
}

export interface TerminalSetup {
  url: string;
  id: string;
  group: string;
  topicPrefix: string;
  /** Called with the message id of each task update the terminal receives (t/T/tasks). */
  onTask(messageId: string): void;
}

/** The session's expiry on the broker, as the daemon's default (config fleet.sessionExpirySeconds). */
const SESSION_EXPIRY_S = 7 * 24 * 3600;
const KEEPALIVE_S = 60;
/**
 * Longer than the daemon's default 10 s: a bench starts a thousand connections at once on a
 * loaded machine, and an attempt cut short only comes back a reconnect wait later.
 */
const CONNECT_TIMEOUT_MS = 60_000;

/** The terminal's inbound topics, as runtime/fleet/types.ts lists them. */
export function inboundTopics(prefix: string, id: string, group: string): string[] {
  return [
    `${prefix}/t/${id}/tasks`,
    `${prefix}/t/${id}/params`,
    `${prefix}/t/${id}/cmd`,
    `${prefix}/g/${group}/params`,
    `${prefix}/g/${group}/cmd`,
  ];
}

/** What a box runs: the FleetLink, with a memory outbox instead of the spool. */
export function linkTerminal(setup: TerminalSetup): SimulatedTerminal {
  const { url, id, group, topicPrefix } = setup;
  const link = new FleetLink({
    url,
    terminalId: id,
    group,
    topicPrefix,
    keepaliveSeconds: KEEPALIVE_S,
    sessionExpirySeconds: SESSION_EXPIRY_S,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    reconnectMinMs: 1000,
    reconnectMaxMs: 60_000,
    outbox: new MemoryFleetOutbox(),
  });
  link.on('message', (kind, message) => {
    if (kind === 'tasks') setup.onTask(message.id);
  });
  return {
    id,
    start() {
      const connected = new Promise<void>((resolve) => link.once('connected', () => resolve()));
      link.start();
      return connected;
    },
    publishHealth(health) {
      link.publishHealth(health);
    },
    connected() {
      return link.state === 'connected';
    },
    stop() {
      return link.stop();
    },
  };
}

/** The peer: a bare MQTT.js client with the terminal's session, will and subscriptions. */
export function bareTerminal(setup: TerminalSetup): SimulatedTerminal {
  const { url, id, group, topicPrefix: prefix } = setup;
  const tasksTopic = `${prefix}/t/${id}/tasks`;
  const healthTopic = `${prefix}/t/${id}/health`;
  const stateTopic = `${prefix}/t/${id}/state`;
  let client: MqttClient | undefined;
  return {
    id,
    async start() {
      const options: IClientOptions = {
        protocolVersion: 5,
        clientId: id,
        clean: false,
        properties: { sessionExpiryInterval: SESSION_EXPIRY_S },
        keepalive: KEEPALIVE_S,
        connectTimeout: CONNECT_TIMEOUT_MS,
        reconnectPeriod: 0,
        will: {
          topic: stateTopic,
          payload: Buffer.from(JSON.stringify({ online: false })),
          qos: 1,
          retain: true,
        },
      };
      client = await mqtt.connectAsync(url, options);
      client.on('message', (topic, payload) => {
        if (topic !== tasksTopic) return;
        setup.onTask((JSON.parse(payload.toString('utf8')) as { id: string }).id);
      });
      // Not awaited, as the link does not: the state below goes out behind the subscription.
      client.subscribe(
        Object.fromEntries(inboundTopics(prefix, id, group).map((topic) => [topic, { qos: 1 as const }])),
      );
      client.publish(stateTopic, JSON.stringify({ online: true, at: new Date().toISOString() }), {
        qos: 1,
        retain: true,
      });
    },
    publishHealth(health) {
      client!.publish(healthTopic, JSON.stringify(health), { qos: 1, retain: true });
    },
    connected() {
      return client?.connected ?? false;
    },
    async stop() {
      await client?.endAsync();
    },
  };
}
