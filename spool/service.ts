/**
 * The spool as a daemon service. It has the shape of runtime/service.ts'
 * `Service` (declared here structurally: spool must not import runtime/).
 * Start opens the key and the database; a retention purge runs at start and then
 * periodically; stop writes what waits for the group commit and closes.
 */
import type { Config } from '../config/schema.js';
import { Spool, spoolSettings, type SpoolOptions } from './spool.js';
import { FileKeyProvider, Vault, type KeyProvider } from './vault.js';
import { holdsSealedData } from './database.js';

export type SpoolHealthState = 'starting' | 'up' | 'degraded' | 'down' | 'stopped';

export interface SpoolHealth {
  state: SpoolHealthState;
  reason?: string;
}

export interface SpoolServiceOptions {
  /** The data key source; defaults to the key file named in the config. */
  keyProvider?: KeyProvider;
  purgeIntervalMs?: number;
  /** Further options for the spool (clock, policies, ...). */
  spool?: Partial<SpoolOptions>;
}

export class SpoolService {
  readonly name = 'spool';
  private current: Spool | undefined;
  private vault: Vault | undefined;
  private timer: NodeJS.Timeout | undefined;
  private state: SpoolHealth = { state: 'starting' };

  constructor(
    private readonly config: Config,
    private readonly options: SpoolServiceOptions = {},
  ) {}

  /** The open spool, for the services started after this one. */
  get spool(): Spool {
    if (!this.current) throw new Error('the spool service has not started');
    return this.current;
  }

  async start(): Promise<void> {
    const settings = spoolSettings(this.config);
    // A key file that is gone while sealed rows need it is reported missing, not replaced by a
    // new key (refused later as a mismatch, hiding the deletion). Only then: a spool with no
    // sealed data yet (seeded by a tool, or new) starts with a new key as before.
    const keyProvider =
      this.options.keyProvider ??
      new FileKeyProvider(settings.keyFile, holdsSealedData(settings.file) ? { sealedDatabase: settings.file } : {});
    this.vault = await Vault.fromProvider(keyProvider);
    try {
      this.current = Spool.open({
        file: settings.file,
        vault: this.vault,
        limits: settings.limits,
        retentionMs: settings.retentionMs,
        ...this.options.spool,
      });
    } catch (error) {
      this.vault.destroy();
      this.vault = undefined;
      this.state = { state: 'down', reason: (error as Error).message };
      throw error;
    }
    this.maintain();
    this.timer = setInterval(() => this.maintain(), this.options.purgeIntervalMs ?? 3_600_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.current) {
      await this.current.outbox.whenIdle();
      this.current.close();
      this.current = undefined;
    }
    this.vault?.destroy();
    this.vault = undefined;
    this.state = { state: 'stopped' };
  }

  health(): SpoolHealth {
    return this.state;
  }

  private maintain(): void {
    const spool = this.current;
    if (!spool) return;
    try {
      spool.purge();
      const status = spool.status();
      const reasons: string[] = [];
      if (status.dead > 0) reasons.push(`${status.dead} dead-lettered record(s): run "codpos spool list --state dead"`);
      if (status.diskBytes >= spool.limits.maxDiskBytes) reasons.push('spool is over its disk budget');
      if (status.oldestPendingAgeMs !== null && status.oldestPendingAgeMs >= spool.limits.maxAgeMs)
        reasons.push('records are waiting longer than the offline age limit');
      this.state = reasons.length ? { state: 'degraded', reason: reasons.join('; ') } : { state: 'up' };
    } catch (error) {
      this.state = { state: 'degraded', reason: (error as Error).message };
    }
  }
}
