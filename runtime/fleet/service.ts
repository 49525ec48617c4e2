/**
 * The daemon's fleet service (docs/fleet.md "What the terminal does with it"): the FleetLink to
 * the operator's broker with the spool as its outbox, and what the terminal does with the link —
 * task updates applied to the courier's list and shown at once, parameter packages handed to the
 * params service, commands run and answered, the health message at its interval and on change,
 * business events forwarded. Every inbound id is recorded in the fleet inbox, so a message the
 * broker delivers again is not acted on twice.
 *
 * The box works offline: the service is up as soon as the link is started, degraded (with the
 * reason) while the broker is away, and everything outbound waits in the spool meanwhile.
 */
import type { Config } from '../../config/schema.js';
import { PosError } from '../../config/errors.js';
import type { Spool } from '../../spool/spool.js';
import { SCHEMA_VERSION } from '../../spool/migrations.js';
import type { Logger } from '../log.js';
import type { Health, Service } from '../service.js';
import type { EventBus } from '../api/events.js';
import type { ParamsReport } from '../params/types.js';
import type { FleetLink, FleetLinkSettings } from './link.js';
import { fleetLinkSettingsFromConfig } from './options.js';
import { SpoolFleetOutbox } from './spool-outbox.js';
import { applyTaskUpdate } from './task-updates.js';
import { runCommand, type CommandDeps } from './commands.js';
import { HealthPublisher } from './health.js';
import { forwardBusinessEvents } from './events.js';
import type { CommandResult, FleetMessage, InboundKind } from './types.js';

/** How often the health is checked for a change no event announces (the uplink emptying the spool). */
const HEALTH_POLL_MS = 5000;

export interface FleetServiceDeps {
  spool: () => Spool;
  events: EventBus;
  /** Every service's health (the manager's), for the health message. */
  health: () => Record<string, Health>;
  deviceStates: () => Partial<Record<string, { state: string; reason?: string }>>;
  commands: CommandDeps;
  /** Applies a parameter package and spools its report (runtime/params/service.ts); absent: packages are refused in the log. */
  params?: {
    offer(input: unknown, source: 'fleet'): Promise<ParamsReport>;
    /** The version running (null: the configured parameters), for the health message. */
    running(): { version: number | null };
  };
  version: string;
  /** Overrides of the link's settings (tests: short reconnect waits). */
  link?: Partial<FleetLinkSettings>;
}

export class FleetService implements Service {
  readonly name = 'fleet';
  private link: FleetLink | undefined;
  private publisher: HealthPublisher | undefined;
  private readonly stops: Array<() => void> = [];
  /** Inbound messages being acted on, so stop() lets them finish. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly deps: FleetServiceDeps,
  ) {}

  async start(): Promise<void> {
    const settings = { ...fleetLinkSettingsFromConfig(this.config), ...this.deps.link };
    const spool = this.deps.spool();
    // Loaded here: the MQTT client library is evaluated only on a box that has a fleet link.
    const { FleetLink } = await import('./link.js');
    const link = new FleetLink({
      ...settings,
      outbox: new SpoolFleetOutbox(spool.outbox),
      logger: this.log,
      version: this.deps.version,
    });
    this.link = link;
    link.on('message', (kind, message) => this.track(this.receive(kind, message)));
    link.on('rejected', (error) => this.track(this.answerRejected(error)));
    this.publisher = new HealthPublisher(
      {
        terminal: this.config.terminal.id,
        codposVersion: this.deps.version,
        schemaVersion: SCHEMA_VERSION,
        paramsVersion: () => this.deps.params?.running().version ?? null,
        deviceStates: this.deps.deviceStates,
        services: this.deps.health,
        spoolStreams: () => this.deps.spool().outbox.status(),
      },
      (health) => link.publishHealth(health as unknown as Record<string, unknown>),
      { intervalMs: this.config.fleet!.healthIntervalMs },
    );
    const publisher = this.publisher;
    const check = () => {
      try {
        publisher.check();
      } catch (error) {
        this.log.warn({ err: error }, 'fleet health could not be read');
      }
    };
    link.on('state', check);
    this.stops.push(this.deps.events.subscribe(check));
    const poll = setInterval(check, HEALTH_POLL_MS);
    poll.unref();
    this.stops.push(() => clearInterval(poll));
    this.stops.push(
      forwardBusinessEvents({
        bus: this.deps.events,
        send: (type, data) => link.send('events', type, data),
        failed: (error, event) =>
          this.log.error({ err: error, event: event.type }, 'a business event could not be spooled for the fleet'),
      }),
    );
    link.start();
    publisher.start();
  }

  async stop(): Promise<void> {
    for (const stop of this.stops.splice(0)) stop();
    this.publisher?.stop();
    await Promise.allSettled([...this.inFlight]);
    await this.link?.stop();
  }

  health(): Health {
    const link = this.link;
    if (!link) return { state: 'starting' };
    const stats = link.stats();
    switch (stats.state) {
      case 'connected':
        return { state: 'up' };
      case 'stopped':
        return { state: 'stopped' };
      default:
        return {
          state: 'degraded',
          reason: `the fleet broker is ${stats.state === 'connecting' ? 'not connected yet' : 'away'}${stats.lastError ? ` (${stats.lastError.code}: ${stats.lastError.message})` : ''}; events wait in the spool`,
        };
    }
  }

  /** A record was queued for the link by another service (a params report): it goes out now. */
  sendNow(): void {
    this.link?.sendNow();
  }

  /** The link, for tests and the status (absent before start). */
  get fleetLink(): FleetLink | undefined {
    return this.link;
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async receive(kind: InboundKind, message: FleetMessage): Promise<void> {
    try {
      if (kind === 'tasks') {
        // The id is recorded in the commit that changes the list (task-updates.ts).
        const outcome = applyTaskUpdate({ spool: this.deps.spool, events: this.deps.events }, message);
        this.log.info({ messageId: message.id, duplicate: outcome.duplicate }, 'fleet task update');
      } else if (kind === 'params') {
        if (this.deps.spool().fleetInbox.seen(message.id, 'params')) return;
        if (!this.deps.params) {
          this.log.warn(
            { messageId: message.id },
            'a parameter package came from the fleet, but this daemon applies none',
          );
          return;
        }
        // The params service spools its own report (stream params-report): not answered here.
        const report = await this.deps.params.offer(message.data, 'fleet');
        this.log.info({ messageId: message.id, version: report.version }, 'fleet parameter package offered');
      } else {
        if (this.deps.spool().fleetInbox.seen(message.id, 'cmd')) return;
        await this.answer(await runCommand(this.deps.commands, message, this.log));
      }
    } catch (error) {
      this.log.warn({ err: error, messageId: message.id, kind }, 'a fleet message was not acted on');
    }
  }

  /** A command the terminal does not have (the link refused it): answered all the same, once. */
  private async answerRejected(error: PosError): Promise<void> {
    const details = error.details ?? {};
    if (error.code !== 'CODPOS_FLEET_UNKNOWN_COMMAND' || typeof details.messageId !== 'string') return;
    try {
      if (this.deps.spool().fleetInbox.seen(details.messageId, 'cmd')) return;
      await this.answer({
        commandId: details.messageId,
        command: typeof details.command === 'string' ? details.command : 'unknown',
        ok: false,
        code: error.code,
        message: error.message,
      });
    } catch (failure) {
      this.log.warn({ err: failure }, 'an unknown fleet command could not be answered');
    }
  }

  private async answer(result: CommandResult): Promise<void> {
    await this.link!.send('cmd/result', `cmd.${result.command}`, { ...result });
    this.log.info({ command: result.command, commandId: result.commandId, ok: result.ok }, 'fleet command answered');
  }
}
