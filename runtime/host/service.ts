/**
 * The host link as one daemon service. In `host.mode: 'sim'` it first starts the
 * acquirer simulator in-process on 127.0.0.1 (any free port) and points the link at
 * it; in `tcp` mode it connects to `host.address:host.port`. An acquirer that cannot
 * be reached does not stop the daemon (a courier's box boots in dead zones): the
 * service is degraded, says why, and the channel keeps reconnecting. Once connected
 * it signs on and a background sender forwards queued reversals and advices.
 */
import type { Config } from '../../config/schema.js';
import { PosError } from '../../config/errors.js';
import type { Spool } from '../../spool/index.js';
import type { Logger } from '../log.js';
import type { Health, Service } from '../service.js';
import type { Dialect, MessageContext } from '../../emv/iso8583/index.js';
import { hostDialect } from './dialect.js';
import { HostChannel, channelOptionsFromConfig, hostFraming, type ReconnectPolicy } from './channel.js';
import { HostMux } from './mux.js';
import { HostClient } from './client.js';
import type { AcquirerHostSimulator, SimRule } from './simulator.js';

export interface HostServiceOptions {
  /** The open spool (from the spool service, started before this one). */
  spool: () => Spool;
  /** How often the background sender looks for queued reversals and advices. Default 5 s. */
  sendIntervalMs?: number;
  reconnect?: ReconnectPolicy;
  /** Rules for the in-process simulator (sim mode only). */
  simRules?: SimRule[];
}

export class HostService implements Service {
  readonly name = 'host';
  private channel: HostChannel | undefined;
  private mux: HostMux | undefined;
  private hostClient: HostClient | undefined;
  private sim: AcquirerHostSimulator | undefined;
  private timer: NodeJS.Timeout | undefined;
  private signedOn = false;
  private state: Health = { state: 'stopped' };
  private readonly onConnected = () => void this.afterConnect();

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly options: HostServiceOptions,
  ) {}

  /** The host client the payment flow uses. */
  get client(): HostClient {
    if (!this.hostClient) throw new PosError('CODPOS_HOST_NOT_STARTED', 'the host link service has not started');
    return this.hostClient;
  }

  /** The in-process simulator (sim mode), for tests and `codpos status`. */
  get simulator(): AcquirerHostSimulator | undefined {
    return this.sim;
  }

  async start(): Promise<void> {
    this.state = { state: 'starting' };
    const host = this.config.host;
    const dialect = hostDialect(host);
    let target = host;
    if (host.mode === 'sim') {
      // Loaded here, not at the top: a box that talks to a real acquirer never loads the simulator.
      const { AcquirerHostSimulator } = await import('./simulator.js');
      this.sim = new AcquirerHostSimulator({
        dialect,
        framing: hostFraming(host),
        port: 0,
        pinBdk: this.config.devices.pinpad.sim.bdk,
        pinDukpt: this.config.devices.pinpad.dukpt,
        ...(this.options.simRules ? { rules: this.options.simRules } : {}),
        log: this.log.child({ component: 'acquirer-sim' }),
        // A technician's window on the last exchanges, not a history: kept small so a day of
        // payments in sim mode does not grow the daemon (the journal is the history).
        maxExchanges: 200,
      });
      const { port } = await this.sim.start();
      // The in-process simulator speaks plain TCP on loopback: host.tls is for the real acquirer
      // (the TLS tests run the simulator with its own test CA, test/runtime/host/tls.test.ts).
      target = { ...host, address: '127.0.0.1', port, tls: false };
    }
    this.channel = new HostChannel(
      channelOptionsFromConfig(target, {
        log: this.log,
        dataDir: this.config.data.dir,
        ...(this.options.reconnect ? { reconnect: this.options.reconnect } : {}),
      }),
    );
    this.mux = new HostMux(this.channel, { dialect, log: this.log });
    this.hostClient = new HostClient({
      mux: this.mux,
      spool: this.options.spool(),
      context: messageContextOf(this.config, dialect),
      responseTimeoutMs: host.responseTimeoutMs,
      reversalStan: host.reversalStan,
      partialApprovals: host.partialApprovals,
      tcDelivery: host.tcDelivery,
      log: this.log,
    });
    // Authorizations in flight when the terminal last stopped are reversed before anything else goes out.
    try {
      await this.hostClient.recoverInterrupted();
    } catch (error) {
      this.log.error(
        { err: error },
        'could not queue the reversals of authorizations in flight at the last stop; they stay held in the spool',
      );
    }
    this.channel.on('disconnected', (error: PosError) => {
      this.signedOn = false;
      this.state = { state: 'degraded', reason: `${error.message}; reconnecting` };
    });
    this.timer = setInterval(() => void this.sendPending(), this.options.sendIntervalMs ?? 5000);
    this.timer.unref();
    if (host.mode === 'sim') {
      // The simulator is in this process: a failure to reach it is a bug worth failing the start for.
      try {
        await this.connect();
      } catch (error) {
        await this.stop();
        throw error;
      }
      return;
    }
    // A real acquirer may be slow or away (a dead zone at boot): the box must not wait
    // for it to be ready; the link connects and signs on in the background.
    this.state = { state: 'degraded', reason: `connecting to the acquirer at ${host.address}:${host.port}` };
    void this.connect().catch((error: unknown) => {
      this.state = { state: 'degraded', reason: `${(error as Error).message}; retrying` };
      this.log.warn(
        { code: (error as PosError).code },
        'acquirer not reachable at start; card payments wait for the link',
      );
    });
  }

  /** Opens the link and signs on; every later (re)connection signs on again. */
  private async connect(): Promise<void> {
    const channel = this.channel!;
    try {
      await channel.open();
    } finally {
      // Later (re)connections sign on through the event, also when this first open failed
      // (the channel keeps dialling); the first connection signs on just below.
      channel.on('connected', this.onConnected);
    }
    if (channel.connected) await this.afterConnect();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.channel?.off('connected', this.onConnected);
    this.mux?.detach();
    await this.channel?.close();
    await this.sim?.stop();
    this.channel = undefined;
    this.mux = undefined;
    this.sim = undefined;
    this.hostClient = undefined;
    this.state = { state: 'stopped' };
  }

  health(): Health {
    if (this.state.state !== 'up') return this.state;
    const waiting = this.hostClient?.pendingReversals() ?? 0;
    if (waiting > 0)
      return {
        state: 'degraded',
        reason: `${waiting} reversal(s) waiting for the acquirer; card payments wait behind them`,
      };
    return this.state;
  }

  /** Signs on, then forwards what waited for the link. */
  private async afterConnect(): Promise<void> {
    const client = this.hostClient;
    if (!client) return;
    try {
      const answer = await client.network('sign-on');
      if (answer.outcome !== 'approved') {
        this.state = {
          state: 'degraded',
          reason: `the acquirer refused the sign-on (response code ${answer.responseCode})`,
        };
        return;
      }
      this.signedOn = true;
      this.state = { state: 'up' };
      await this.sendPending();
    } catch (error) {
      this.state = { state: 'degraded', reason: `sign-on failed: ${(error as Error).message}` };
    }
  }

  private async sendPending(): Promise<void> {
    if (!this.signedOn || !this.hostClient || !this.channel?.connected) return;
    try {
      const sent = await this.hostClient.sendPending();
      if (sent > 0) this.log.info({ sent }, 'queued reversals and advices forwarded to the acquirer');
    } catch (error) {
      this.log.error({ err: error }, 'forwarding queued reversals and advices failed');
    }
  }
}

/**
 * What every message the link builds takes from the config: the terminal's ids and currency,
 * its time zone (DE12/DE13 are its wall clock at each message's instant, DST included), the
 * merchant category code for DE18 when the host's dialect has DE18, and which DE25 codes a
 * reversal's reason takes (4-digit message reason codes when the dialect's DE25 is n4).
 */
export function messageContextOf(config: Pick<Config, 'terminal'>, dialect: Dialect): Omit<MessageContext, 'nextStan'> {
  return {
    terminalId: config.terminal.id,
    merchantId: config.terminal.merchantId,
    currency: config.terminal.currency,
    clock: () => new Date(),
    timeZone: config.terminal.timeZone,
    ...(dialect.fields[18] !== undefined ? { merchantCategoryCode: config.terminal.merchantCategoryCode } : {}),
    reversalReasonLayout: dialect.fields[25]?.maxLength === 4 ? '1993' : '1987',
  };
}
