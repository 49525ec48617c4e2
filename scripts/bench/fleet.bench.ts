/**
 * `npm run bench -- fleet [--terminals 100,1000] [--rounds N]`: the fleet link at fleet scale.
 * For each fleet size N, a fresh mosquitto on loopback
 * (scripts/fleet/mosquitto.ts: persistence on, anonymous, `$SYS` every second) and N simulated
 * terminals in this one process (fleet-terminals.ts: the real FleetLink with a memory outbox,
 * each its own persistent MQTT 5 session with the daemon's subscriptions), measured:
 *
 * - sessions held: the terminals whose link is connected at the end of the run, and the broker's
 *   own count (`$SYS/broker/clients/connected`, less the bench's back-end clients); the time from
 *   starting all N until the back-end has seen every one's state online (sent after subscribing);
 * - task-update push latency: a back-end client publishes one task update to each terminal
 *   (t/T/tasks, QoS 1) as fast as it can; each terminal notes when its update arrives. The median
 *   and the 99th percentile over every update of --rounds rounds, and the median time for a round
 *   to reach all N;
 * - health messages per second: the terminals publish health (retained, QoS 1) at 10,000 a second
 *   between them for a few seconds; two back-end consumers sharing one subscription
 *   (`$share/backend/{prefix}/t/+/health`) count what arrives, and the broker's CPU per message
 *   is read once they have them all;
 * - memory: the broker's resident set per session (before the terminals and after them) and at
 *   the end; this process's heap after a forced collection per terminal, and its resident set per
 *   terminal.
 *
 * The peer, in the same run on a broker of its own: N bare MQTT.js clients with the same session,
 * will and subscriptions and no FleetLink (no outbox, no message checks). The ratios say what the
 * link costs over the client library.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { median, percentile, type BenchOptions, type BenchResult } from './harness.js';
import {
  bareTerminal,
  bareTerminal as linkTerminal,
  type SimulatedTerminal,
  type TerminalSetup,
} from './fleet-terminals.js';
import { startMosquitto, type Broker } from '../fleet/mosquitto.js';
import type { FleetMessage, TaskUpdate } from '../../runtime/fleet/types.js';

const PREFIX = 'codpos/v1';
const GROUP = 'bench';
/** How long the terminals publish health at the offered rate. */
const HEALTH_MS = 3000;
/**
 * Health messages offered per second by all the terminals together, each at its own interval
 * (staggered): above what this machine's broker and consumers take (about 5,000 to 9,000 a second
 * measured), so the received rate is the system's, and 6 times what 100,000 boxes at the default
 * 60 s interval publish (1,667/s).
 */
const HEALTH_OFFERED_PER_S = 10_000;
/** How long the consumers may take to receive the health messages still on their way when the terminals stop. */
const HEALTH_DRAIN_TIMEOUT_MS = 30_000;
/** How long the terminals may take to connect and say they are online before the bench fails. */
const CONNECT_TIMEOUT_MS = 120_000;
/** The longest a round of task updates may take to reach every terminal before the bench fails. */
const ROUND_TIMEOUT_MS = 60_000;
/** How long to wait for the broker's `$SYS` count to show every terminal: it is published every second, later on a loaded machine. */
const SYS_WAIT_MS = 15_000;
/** Sockets this process and the broker need beyond one per terminal (back-end clients, files, the broker's own). */
const SPARE_FILES = 64;
/**
 * The warm-up before anything is timed: both sides once with a few terminals, figures dropped.
 * Without it the side measured first paid for the JIT compiling MQTT.js (the same bare clients
 * measured twice: 15.7 ms then 5.8 ms median push latency at 100 terminals).
 */
const WARM_UP = { size: 20, rounds: 1, healthMs: 500 };
const PEER = 'bare MQTT.js clients';
/** USER_HZ: the unit of /proc/PID/stat's CPU times, 100 on Linux on every architecture codpos runs on. */
const CLOCK_TICKS_PER_S = 100;

interface Side {
  name: string;
  make(setup: TerminalSetup): SimulatedTerminal;
}

/** What one side measured for one fleet size. */
interface SideFigures {
  connected: number;
  brokerConnected: number;
  connectAllMs: number;
  pushP50Ms: number;
  pushP99Ms: number;
  pushAllMs: number;
  pushSamples: number;
  healthPerS: number;
  healthOfferedPerS: number;
  /** The broker's CPU time for a thousand health messages taken in and passed on. */
  brokerCpuPer1kHealthMs: number;
  /** Cores' worth of CPU the broker, and this process, used while the health was published. */
  brokerCpuShare: number;
  ownCpuShare: number;
  /** Health messages the terminals published, and how many of them reached the consumers in the end. */
  healthPublished: number;
  healthReceived: number;
  brokerRssPerSessionKb: number;
  brokerRssEndMb: number;
  heapPerTerminalKb: number;
  rssPerTerminalKb: number;
}

export async function run(options: BenchOptions): Promise<BenchResult[]> {
  const progress = (text: string) => process.stderr.write(`fleet bench: ${text}\n`);
  const rows: BenchResult[] = [];
  const ourSide: Side = { name: 'FleetLink', make: linkTerminal };
  const peerSide: Side = { name: 'bare MQTT.js', make: bareTerminal };
  const sizes = options.fleet.terminals;
  checkOpenFileLimit(Math.max(...sizes));
  // A fleet no larger than the warm-up's (the tests' tiny one) is measured for its rows, not its figures.
  if (Math.max(...sizes) > WARM_UP.size) {
    progress(`warm-up: both sides with ${WARM_UP.size} terminals`);
    for (const side of [ourSide, peerSide]) await measure(side, WARM_UP.size, WARM_UP, () => {});
  }
  const workload = { rounds: options.rounds, healthMs: HEALTH_MS };
  for (const size of sizes) {
    progress(`${size} terminals: FleetLink`);
    const ours = await measure(ourSide, size, workload, progress);
    progress(`${size} terminals: bare MQTT.js clients (the peer)`);
    const peer = await measure(peerSide, size, workload, progress);
    rows.push(...rowsFor(size, ours, peer, options.rounds));
  }
  return rows;
}

function rowsFor(size: number, ours: SideFigures, peer: SideFigures, rounds: number): BenchResult[] {
  const name = (what: string) => `fleet.n${size}.${what}`;
  return [
    {
      bench: name('sessions_connected'),
      unit: 'count',
      value: ours.connected,
      peer: PEER,
      peerValue: peer.connected,
      note: `of ${size} terminals, connected at the end of the run`,
    },
    {
      bench: name('broker_clients_connected'),
      unit: 'count',
      value: ours.brokerConnected,
      peer: PEER,
      peerValue: peer.brokerConnected,
      note: `the broker's $SYS/broker/clients/connected less the bench's ${BACKEND_CLIENTS} back-end clients`,
    },
    {
      bench: name('connect_all_ms'),
      unit: 'ms',
      value: ours.connectAllMs,
      peer: PEER,
      peerValue: peer.connectAllMs,
      note: `all ${size} started at once, until the back-end has every one's state online (sent after its subscriptions)`,
    },
    {
      bench: name('task_push_p50_ms'),
      unit: 'ms',
      value: ours.pushP50Ms,
      peer: PEER,
      peerValue: peer.pushP50Ms,
      note: `one task update per terminal from a back-end client, publish to receipt, ${ours.pushSamples} updates in ${rounds} rounds`,
    },
    {
      bench: name('task_push_p99_ms'),
      unit: 'ms',
      value: ours.pushP99Ms,
      peer: PEER,
      peerValue: peer.pushP99Ms,
      note: 'the same, 99th percentile',
    },
    {
      bench: name('task_push_all_ms'),
      unit: 'ms',
      value: ours.pushAllMs,
      peer: PEER,
      peerValue: peer.pushAllMs,
      note: `a round: the first update published to the last of ${size} received, median of ${rounds}`,
    },
    {
      bench: name('health_msgs_per_s'),
      unit: 'records_per_s',
      value: ours.healthPerS,
      peer: PEER,
      peerValue: peer.healthPerS,
      note: `received by 2 back-end consumers (in this process) sharing $share/backend/${PREFIX}/t/+/health while the terminals publish ${Math.round(ours.healthOfferedPerS)}/s (peer ${Math.round(peer.healthOfferedPerS)}/s) for ${HEALTH_MS / 1000} s`,
    },
    {
      bench: name('broker_cpu_per_1k_health_ms'),
      unit: 'ms',
      value: ours.brokerCpuPer1kHealthMs,
      peer: PEER,
      peerValue: peer.brokerCpuPer1kHealthMs,
      note: `mosquitto's user + system CPU from the first health message until the consumers had them all, over their number (${ours.healthReceived} of ${ours.healthPublished} published); it used ${share(ours.brokerCpuShare)} of a core, this process ${share(ours.ownCpuShare)}`,
    },
    {
      bench: name('broker_rss_per_session'),
      unit: 'kb',
      value: ours.brokerRssPerSessionKb,
      peer: PEER,
      peerValue: peer.brokerRssPerSessionKb,
      note: "mosquitto's VmRSS with the sessions connected and subscribed, less before them, over N",
    },
    {
      bench: name('broker_rss_end'),
      unit: 'mb',
      value: ours.brokerRssEndMb,
      peer: PEER,
      peerValue: peer.brokerRssEndMb,
      note: "mosquitto's VmRSS after the run (every terminal's retained health held)",
    },
    {
      bench: name('sim_heap_per_terminal'),
      unit: 'kb',
      value: ours.heapPerTerminalKb,
      peer: PEER,
      peerValue: peer.heapPerTerminalKb,
      note: 'this process: heap used after a forced GC with the terminals connected, less before them, over N',
    },
    {
      bench: name('sim_rss_per_terminal'),
      unit: 'kb',
      value: ours.rssPerTerminalKb,
      note: "this process's VmRSS the same way; no peer: the peer runs second, in pages the first side freed",
    },
  ];
}

/** The back-end side of a run: a publisher of task updates, two health consumers, a state reader, a `$SYS` reader. */
const BACKEND_CLIENTS = 5;

async function measure(
  side: Side,
  size: number,
  workload: { rounds: number; healthMs: number },
  progress: (text: string) => void,
): Promise<SideFigures> {
  const { rounds, healthMs } = workload;
  const broker = await startBenchBroker();
  const backend: MqttClient[] = [];
  let terminals: SimulatedTerminal[] = [];
  try {
    const connectBackend = async (name: string) => {
      const client = await mqtt.connectAsync(broker.url, {
        protocolVersion: 5,
        clientId: `bench-${name}`,
        clean: true,
        reconnectPeriod: 0,
      });
      backend.push(client);
      return client;
    };
    const publisher = await connectBackend('tasks');
    const healthReceived = new Counter();
    for (const name of ['health-1', 'health-2']) {
      const consumer = await connectBackend(name);
      consumer.on('message', () => {
        healthReceived.add();
      });
      await consumer.subscribeAsync(`$share/backend/${PREFIX}/t/+/health`, { qos: 1 });
    }
    const online = await OnlineTerminals.watch(await connectBackend('state'));
    const brokerCount = await BrokerClientCount.watch(await connectBackend('sys'));
    await brokerCount.until((count) => count === BACKEND_CLIENTS, SYS_WAIT_MS);

    collectGarbage();
    const before = { memory: process.memoryUsage(), brokerRss: broker.rssBytes() };
    let round: PushRound | undefined;
    terminals = Array.from({ length: size }, (_, i) =>
      side.make({
        url: broker.url,
        id: terminalId(i),
        group: GROUP,
        topicPrefix: PREFIX,
        onTask: (messageId) => round?.receive(messageId),
      }),
    );
    const connectStarted = performance.now();
    await Promise.all(terminals.map((terminal) => terminal.start()));
    await online.until(size, CONNECT_TIMEOUT_MS);
    const connectAllMs = performance.now() - connectStarted;
    const brokerConnected =
      (await brokerCount.until((count) => count >= size + BACKEND_CLIENTS, SYS_WAIT_MS)) - BACKEND_CLIENTS;
    collectGarbage();
    const after = { memory: process.memoryUsage(), brokerRss: broker.rssBytes() };
    progress(`${side.name}: ${size} connected in ${Math.round(connectAllMs)} ms; ${rounds} rounds of task updates`);

    const latencies: number[] = [];
    const roundTimes: number[] = [];
    for (let r = 0; r < rounds; r++) {
      round = new PushRound(size);
      const published = terminals.map((terminal, i) => {
        const message = taskUpdate(terminal.id, r, i);
        round!.sent(message.id);
        return publisher.publishAsync(`${PREFIX}/t/${terminal.id}/tasks`, JSON.stringify(message), { qos: 1 });
      });
      await Promise.all(published);
      const outcome = await round.finished(ROUND_TIMEOUT_MS);
      latencies.push(...outcome.latencies);
      roundTimes.push(outcome.allMs);
    }
    round = undefined;

    progress(`${side.name}: health from every terminal for ${healthMs / 1000} s`);
    const brokerCpuBefore = cpuSecondsOf(broker.pid);
    const ownCpuBefore = process.cpuUsage();
    const healthStarted = performance.now();
    const healthRates = await offerHealth(terminals, healthMs, () => healthReceived.count);
    // The broker's CPU is read once the consumers have every message, so it is over all of them.
    const drained = await healthReceived.until(healthRates.published, HEALTH_DRAIN_TIMEOUT_MS);
    const healthCpuS = {
      broker: cpuSecondsOf(broker.pid) - brokerCpuBefore,
      own: cpuMicros(process.cpuUsage(ownCpuBefore)) / 1e6,
    };
    const healthSpanS = (performance.now() - healthStarted) / 1000;

    const connected = terminals.filter((terminal) => terminal.connected()).length;
    const brokerRssEnd = broker.rssBytes();
    return {
      connected,
      brokerConnected,
      connectAllMs,
      pushP50Ms: median(latencies),
      pushP99Ms: percentile(latencies, 99),
      pushAllMs: median(roundTimes),
      pushSamples: latencies.length,
      healthPerS: healthRates.receivedPerS,
      healthOfferedPerS: healthRates.offeredPerS,
      brokerCpuPer1kHealthMs: (healthCpuS.broker * 1000 * 1000) / drained,
      healthPublished: healthRates.published,
      healthReceived: drained,
      brokerCpuShare: healthCpuS.broker / healthSpanS,
      ownCpuShare: healthCpuS.own / healthSpanS,
      brokerRssPerSessionKb: (after.brokerRss - before.brokerRss) / 1024 / size,
      brokerRssEndMb: brokerRssEnd / 1024 / 1024,
      heapPerTerminalKb: (after.memory.heapUsed - before.memory.heapUsed) / 1024 / size,
      rssPerTerminalKb: (after.memory.rss - before.memory.rss) / 1024 / size,
    };
  } finally {
    await Promise.all(terminals.map((terminal) => terminal.stop()));
    await Promise.all(backend.map((client) => client.endAsync(true)));
    await broker.remove();
  }
}

/**
 * A mosquitto for one side of one fleet size: anonymous on loopback (per-terminal users would
 * take one mosquitto_passwd run per terminal to set up; the broker's password check happens once
 * per connection, not per message), persistence on, and `$SYS` every second instead of every
 * 10 s so the broker's client count is read without waiting. startMosquitto has no option for it:
 * the line is added to the config it wrote and the broker restarted on it.
 */
async function startBenchBroker(): Promise<Broker> {
  // startMosquitto's default queue (100,000 messages a client): with a lower one, the broker drops
  // QoS 1 health for consumers that fall behind (1,000 measured: a third of it dropped at N = 1,000).
  const broker = await startMosquitto();
  try {
    appendFileSync(join(broker.dir, 'mosquitto.conf'), 'sys_interval 1\n');
    await broker.restart();
    return broker;
  } catch (error) {
    await broker.remove();
    throw error;
  }
}

/**
 * Every terminal publishes health at its interval (the offered rate shared out, starts staggered
 * over one interval) for `healthMs`; the consumers count what arrives meanwhile. The offered rate
 * is what the terminals' timers managed to publish, which on a saturated machine is below the
 * nominal one.
 */
async function offerHealth(
  terminals: SimulatedTerminal[],
  healthMs: number,
  received: () => number,
): Promise<{ published: number; offeredPerS: number; receivedPerS: number; elapsedS: number }> {
  const intervalMs = Math.max(1, Math.round((terminals.length * 1000) / HEALTH_OFFERED_PER_S));
  let published = 0;
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  const receivedBefore = received();
  const started = performance.now();
  terminals.forEach((terminal, i) => {
    let n = 0;
    const publish = () => {
      if (stopped) return;
      terminal.publishHealth(health(terminal.id, i, n++));
      published++;
    };
    timers.push(
      setTimeout(
        () => {
          publish();
          timers.push(setInterval(publish, intervalMs));
        },
        (i * intervalMs) / terminals.length,
      ),
    );
  });
  await sleep(healthMs);
  const receivedInTime = received() - receivedBefore;
  stopped = true;
  const elapsedS = (performance.now() - started) / 1000;
  for (const timer of timers) clearTimeout(timer);
  return { published, offeredPerS: published / elapsedS, receivedPerS: receivedInTime / elapsedS, elapsedS };
}

/** Messages counted as they arrive, and a wait for a count. */
class Counter {
  count = 0;
  private waiter: (() => void) | undefined;

  add(): void {
    this.count++;
    this.waiter?.();
  }

  /** The count once it reaches `target`, or what it is after `timeoutMs`. */
  async until(target: number, timeoutMs: number): Promise<number> {
    if (this.count < target) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.waiter = () => {
          if (this.count >= target) resolve();
        };
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.waiter = undefined;
    }
    return this.count;
  }
}

/** The terminals that said they are online (retained t/T/state, online true), which they do after subscribing. */
class OnlineTerminals {
  private readonly online = new Set<string>();
  private waiter: (() => void) | undefined;

  private constructor(client: MqttClient) {
    client.on('message', (topic, payload) => {
      const state = JSON.parse(payload.toString('utf8')) as { online?: unknown };
      if (state.online === true) this.online.add(topic);
      else this.online.delete(topic);
      this.waiter?.();
    });
  }

  static async watch(client: MqttClient): Promise<OnlineTerminals> {
    const online = new OnlineTerminals(client);
    await client.subscribeAsync(`${PREFIX}/t/+/state`, { qos: 1 });
    return online;
  }

  async until(count: number, timeoutMs: number): Promise<void> {
    if (this.online.size >= count) return;
    let timer: NodeJS.Timeout | undefined;
    const reached = await new Promise<boolean>((resolve) => {
      this.waiter = () => {
        if (this.online.size >= count) resolve(true);
      };
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    clearTimeout(timer);
    this.waiter = undefined;
    if (!reached)
      throw new Error(
        `fleet bench: ${this.online.size} of ${count} terminals had said they were online after ${timeoutMs / 1000} s`,
      );
  }
}

/** One round of task updates: when each was published, when each arrived, done when all have. */
class PushRound {
  private readonly sentAt = new Map<string, number>();
  private readonly latencies: number[] = [];
  private firstSent = Number.NaN;
  private lastReceived = Number.NaN;
  private done: (() => void) | undefined;

  constructor(private readonly expected: number) {}

  sent(messageId: string): void {
    const now = performance.now();
    if (this.sentAt.size === 0) this.firstSent = now;
    this.sentAt.set(messageId, now);
  }

  /** A repeat (QoS 1 is at least once) or an update of another round counts once, or not at all. */
  receive(messageId: string): void {
    const sentAt = this.sentAt.get(messageId);
    if (sentAt === undefined) return;
    this.sentAt.delete(messageId);
    this.lastReceived = performance.now();
    this.latencies.push(this.lastReceived - sentAt);
    if (this.latencies.length === this.expected) this.done?.();
  }

  async finished(timeoutMs: number): Promise<{ latencies: number[]; allMs: number }> {
    if (this.latencies.length < this.expected) {
      let timer: NodeJS.Timeout | undefined;
      const arrived = await new Promise<boolean>((resolve) => {
        this.done = () => resolve(true);
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      clearTimeout(timer);
      if (!arrived)
        throw new Error(
          `fleet bench: ${this.expected - this.latencies.length} of ${this.expected} task updates had not reached their terminal after ${timeoutMs / 1000} s`,
        );
    }
    return { latencies: this.latencies, allMs: this.lastReceived - this.firstSent };
  }
}

/** The broker's own count of connected clients, from `$SYS/broker/clients/connected` (every second). */
class BrokerClientCount {
  private latest = Number.NaN;
  private waiter: (() => void) | undefined;

  private constructor(client: MqttClient) {
    client.on('message', (_topic, payload) => {
      this.latest = Number(payload.toString('utf8'));
      this.waiter?.();
    });
  }

  static async watch(client: MqttClient): Promise<BrokerClientCount> {
    const count = new BrokerClientCount(client);
    await client.subscribeAsync('$SYS/broker/clients/connected', { qos: 0 });
    return count;
  }

  /** The count once `test` holds for it, or the last count seen after `timeoutMs` (the row shows it). */
  async until(test: (count: number) => boolean, timeoutMs: number): Promise<number> {
    if (test(this.latest)) return this.latest;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.waiter = () => {
        if (test(this.latest)) resolve();
      };
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    this.waiter = undefined;
    if (Number.isNaN(this.latest))
      throw new Error(`fleet bench: the broker published no $SYS/broker/clients/connected in ${timeoutMs / 1000} s`);
    return this.latest;
  }
}

/**
 * N terminals need N sockets in this process and N in the broker (mosquitto inherits our limit):
 * fail at once with what is needed rather than with EMFILE halfway through a run.
 */
function checkOpenFileLimit(size: number): void {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  if (!match || match[1] === 'unlimited') return;
  const soft = Number(match[1]);
  if (soft < size + SPARE_FILES)
    throw new Error(
      `fleet bench: ${size} terminals need about ${size + SPARE_FILES} open files in this process and in the broker; ulimit -n is ${soft}`,
    );
}

function terminalId(index: number): string {
  return `BENCH${String(index).padStart(6, '0')}`;
}

/** A task update as terminal management would push it; its id is unique per terminal and round. */
function taskUpdate(terminal: string, round: number, index: number): FleetMessage<TaskUpdate> {
  const serial = `${String(round).padStart(2, '0')}${String(index).padStart(6, '0')}`;
  return {
    id: `bench-task-${terminal}-${round}`,
    type: 'task.added',
    at: new Date().toISOString(),
    terminal,
    data: {
      action: 'add',
      task: {
        id: `task-${serial}`,
        waybill: `RR${serial}CH`,
        kind: 'delivery',
        codAmount: 4990,
        currency: 'CHF',
        consignee: 'A. Consignee',
        address: 'Bahnhofstrasse 1, 8001 Zürich',
      },
    },
  };
}

/** A health message of the size the daemon publishes (the status summary, spool depths, versions). */
function health(terminal: string, index: number, n: number): Record<string, unknown> {
  return {
    terminal,
    at: new Date().toISOString(),
    version: '0.1.0',
    params: { version: 12 },
    uptimeS: 3600 + n,
    devices: { reader: 'ok', pinpad: 'ok', printer: 'ok', scanner: 'ok', modem: 'ok' },
    links: { host: 'up', backend: 'up', fleet: 'up' },
    spool: { 'card-journal': index % 3, 'waybill-event': n % 5, fleet: 0, 'params-report': 0, dead: 0 },
    day: { payments: n % 40, approved: n % 37, declined: n % 3, cashTotal: 123450, cardTotal: 98760 },
    battery: { percent: 87, charging: false },
  };
}

/** User + system CPU seconds of process `pid` so far (fields 14 and 15 of /proc/PID/stat, in clock ticks). */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

function cpuMicros(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system;
}

function share(cores: number): string {
  return `${Math.round(cores * 100)} %`;
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
