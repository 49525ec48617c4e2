/**
 * Owns the data directory: creates it at start, proves it writable, and watches
 * free space so the technician sees "degraded" before the spool hits a full disk.
 */
import { mkdir, access, statfs, constants } from 'node:fs/promises';
import type { Health, Service } from './service.js';
import type { Logger } from './log.js';
import { PosError } from '../config/errors.js';

export interface StorageMonitorOptions {
  dir: string;
  /** Below this many free megabytes the service reports degraded. */
  lowSpaceMb?: number;
  intervalMs?: number;
}

export class StorageMonitor implements Service {
  readonly name = 'storage';
  private timer: NodeJS.Timeout | undefined;
  private state: Health = { state: 'starting' };

  constructor(
    private readonly options: StorageMonitorOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const { dir } = this.options;
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await access(dir, constants.W_OK);
    } catch (error) {
      throw new PosError(
        'CODPOS_SPOOL_DATA_DIR',
        `data directory ${dir} is not writable (${(error as NodeJS.ErrnoException).code})`,
        { cause: error },
      );
    }
    await this.check();
    this.timer = setInterval(() => void this.check(), this.options.intervalMs ?? 30_000);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.state = { state: 'stopped' };
  }

  health(): Health {
    return this.state;
  }

  private async check(): Promise<void> {
    try {
      const fs = await statfs(this.options.dir);
      const freeMb = Math.floor((fs.bavail * fs.bsize) / (1024 * 1024));
      const low = this.options.lowSpaceMb ?? 64;
      const next: Health =
        freeMb < low ? { state: 'degraded', reason: `only ${freeMb} MB free in ${this.options.dir}` } : { state: 'up' };
      if (next.state !== this.state.state)
        this.log.info({ service: this.name, freeMb, state: next.state }, 'storage state');
      this.state = next;
    } catch (error) {
      this.state = { state: 'degraded', reason: `cannot read free space: ${(error as Error).message}` };
    }
  }
}
