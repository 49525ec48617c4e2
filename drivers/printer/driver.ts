/**
 * Receipt printer driver. Jobs are ESC/POS bytes (see escpos.ts); one prints
 * at a time. Before a job the printer's status is read (DLE EOT 1..4): when
 * it cannot print (paper out, cover open) the job is held here, the state
 * becomes `held` with the reason, and status is polled every statusPollMs;
 * the job is sent once the printer is clear. After a job the status is read
 * again: if the paper ran out mid-job, the printer keeps the rest in its
 * buffer and prints it when paper returns, so the driver waits and never
 * resends. Either way a job is printed exactly once. A printer that is
 * offline or unplugged holds the job the same way until it is back. The last
 * job is kept for `reprintLast()`.
 */
import { EventEmitter } from 'node:events';
import { PosError } from '../../config/errors.js';
import type { Transport } from '../transport/transport.js';
import { EscPosBuilder, statusRequest } from './escpos.js';
import { isStatusByte, parseStatus, blockingReason, type PrinterStatus } from './status.js';
import { PRINTER_PROFILES, type PrinterProfile } from './profiles.js';
import { describePrinterCodePages, isPrinterCodePage } from '../../config/printer-code-pages.js';

export interface PrinterDriverOptions {
  profile?: PrinterProfile;
  /** ESC t page selected at each job's init and used to encode its text (`devices.printer.codePage`); default 0. */
  codePage?: number;
  statusPollMs?: number;
  statusTimeoutMs?: number;
}

export type PrinterState = { state: 'ready' } | { state: 'printing' } | { state: 'held'; reason: string };

export class PrinterDriver extends EventEmitter {
  /** Set by stop(): a held job gives up instead of waiting for a printer that is gone. */
  private stopped = false;
  /** Ends the wait of the job held right now, so stop() takes effect at once. */
  private wakeHeldJob: (() => void) | undefined;
  readonly profile: PrinterProfile;
  private readonly statusPollMs: number;
  private readonly statusTimeoutMs: number;
  private waiters: Array<(byte: number, error?: PosError) => void> = [];
  private queue: Promise<void> = Promise.resolve();
  private lastJob: Buffer | undefined;
  private current: PrinterState = { state: 'ready' };
  /** Jobs written to the printer; a job is written once. */
  jobsSent = 0;
  private readonly onData = (chunk: Buffer) => {
    for (const byte of chunk) {
      if (!isStatusByte(byte)) continue;
      this.waiters.shift()?.(byte);
    }
  };

  constructor(
    readonly transport: Transport,
    options: PrinterDriverOptions = {},
  ) {
    super();
    const codePage = options.codePage ?? 0;
    if (!isPrinterCodePage(codePage))
      throw new PosError(
        'CODPOS_USAGE_ESCPOS',
        `printer code page ${codePage} cannot be encoded: use ${describePrinterCodePages()}`,
      );
    // Jobs are built from this profile (builder(), the receipt renderers), so the page travels with it.
    this.profile = { ...(options.profile ?? PRINTER_PROFILES['58mm']), codePage };
    this.statusPollMs = options.statusPollMs ?? 2000;
    this.statusTimeoutMs = options.statusTimeoutMs ?? 1000;
    transport.on('data', this.onData);
    // Status bytes still awaited when the link drops will never come: fail them now, so a
    // late byte from the next connection is not taken as their answer.
    transport.on('close', (error) => {
      const waiting = this.waiters;
      this.waiters = [];
      for (const waiter of waiting)
        waiter(-1, error ?? new PosError('CODPOS_DEVICE_DISCONNECTED', 'printer link closed', { disconnected: true }));
    });
  }

  get state(): PrinterState {
    return this.current;
  }

  builder(): EscPosBuilder {
    return new EscPosBuilder(this.profile);
  }

  async start(): Promise<void> {
    this.stopped = false;
    if (!this.transport.isOpen) await this.transport.open();
  }

  /** Closes the printer; a job still held (never sent) ends with CODPOS_DEVICE_PRINT_CANCELLED. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeHeldJob?.();
    this.transport.off('data', this.onData);
    await this.transport.close();
  }

  /** Reads DLE EOT 1, 2, 3 and 4. */
  async status(): Promise<PrinterStatus> {
    const bytes: number[] = [];
    for (const n of [1, 2, 3, 4] as const) bytes.push(await this.statusByte(n));
    return parseStatus(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  }

  /**
   * Prints a job exactly once; resolves when the printer reports it clear after the job.
   * A printer that stops answering after the job went out rejects with
   * CODPOS_DEVICE_PRINT_UNCONFIRMED (details.sent true): do not retry it blindly.
   * While the job is held (paper out, cover open, printer offline or unplugged) `signal`
   * may abort it: it is then not printed. Once sent, a job is the printer's and is not aborted.
   */
  print(job: Buffer, options: { signal?: AbortSignal } = {}): Promise<void> {
    const run = this.queue.then(() => this.runJob(job, options.signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  reprintLast(): Promise<void> {
    if (!this.lastJob)
      return Promise.reject(
        new PosError(
          'CODPOS_DEVICE_PRINTER_NOTHING_TO_REPRINT',
          'reprint: nothing has been printed since the printer started',
        ),
      );
    return this.print(this.lastJob);
  }

  private async runJob(job: Buffer, signal: AbortSignal | undefined): Promise<void> {
    this.setState({ state: 'printing' });
    try {
      await this.waitUntilClear(signal);
      await this.transport.write(job);
      this.jobsSent++;
      this.lastJob = job;
      try {
        await this.waitUntilClear(undefined);
      } catch (error) {
        // The job went out; whether it printed is unknown. A caller that simply retried
        // could print a receipt twice, so this failure has a code of its own.
        throw new PosError(
          'CODPOS_DEVICE_PRINT_UNCONFIRMED',
          `the job was sent to the printer on ${this.transport.description}, but the printer stopped answering before confirming it printed; look at the paper before printing again (reprintLast), a retry may print it twice`,
          { cause: error, details: { sent: true, bytes: job.length } },
        );
      }
      this.emit('printed', job.length);
    } finally {
      this.setState({ state: 'ready' });
    }
  }

  /** Polls status until the printer can print; a lost link counts as a reason to wait, not to fail. */
  private async waitUntilClear(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      if (signal?.aborted)
        throw new PosError('CODPOS_DEVICE_PRINT_CANCELLED', 'print job cancelled while held; it was not printed');
      if (this.stopped)
        throw new PosError(
          'CODPOS_DEVICE_PRINT_CANCELLED',
          'the printer was stopped while the job was held; it was not printed',
        );
      let reason: string | undefined;
      try {
        reason = blockingReason(await this.status());
      } catch (error) {
        if (!(error instanceof PosError && error.disconnected)) throw error;
        reason = 'offline (printer disconnected)';
      }
      if (reason === undefined) {
        if (this.current.state === 'held') this.setState({ state: 'printing' });
        return;
      }
      this.setState({ state: 'held', reason });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.statusPollMs);
        const wake = () => done();
        this.wakeHeldJob = wake;
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        }
        signal?.addEventListener('abort', done);
      });
      this.wakeHeldJob = undefined;
    }
  }

  private statusByte(n: 1 | 2 | 3 | 4): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new PosError(
            'CODPOS_DEVICE_PRINTER_NO_STATUS',
            `printer on ${this.transport.description} did not answer DLE EOT ${n} within ${this.statusTimeoutMs} ms (off, unplugged or not an ESC/POS printer)`,
          ),
        );
      }, this.statusTimeoutMs);
      const waiter = (byte: number, error?: PosError) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(byte);
      };
      this.waiters.push(waiter);
      this.transport.write(statusRequest(n)).catch((error: unknown) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(error);
      });
    });
  }

  private setState(next: PrinterState): void {
    const same =
      next.state === this.current.state &&
      (next as { reason?: string }).reason === (this.current as { reason?: string }).reason;
    this.current = next;
    if (!same) this.emit('state', next);
  }
}
