/**
 * `codpos spool status|list|retry|export|purge`: the technician's view of the
 * on-box store. Opens the spool named by the config (or --db FILE) without its
 * vault key: sealed card data cannot be opened here, and what is shown passes
 * through the masking module (a PAN shows 6+4 at most).
 */
import { chmodSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../../config/load.js';
import { PosError } from '../../../config/errors.js';
import { redact } from '../../../config/masking.js';
import { Spool, spoolSettings } from '../../../spool/spool.js';
import { OUTBOX_STATES, type OutboxRecord, type OutboxState } from '../../../spool/outbox.js';
import { action, printJson, printLines } from '../output.js';
import { CONFIG_FILE_DEFAULT_HELP } from '../../../config/paths.js';

export const order = 40;

interface SourceOptions {
  config?: string;
  db?: string;
  json?: boolean;
}

function withSource(command: Command): Command {
  return command
    .option(
      '--config <file>',
      `config file naming the spool (data.dir + spool.file); default: ${CONFIG_FILE_DEFAULT_HELP}`,
    )
    .option('--db <file>', 'the spool database file itself (overrides --config)')
    .option('--json', 'machine-readable output');
}

function openSpool(opts: SourceOptions): Spool {
  const file = opts.db ?? spoolSettings(loadConfig(opts.config === undefined ? {} : { file: opts.config }).config).file;
  return Spool.open({ file, create: false });
}

async function withSpool<T>(opts: SourceOptions, use: (spool: Spool) => T | Promise<T>): Promise<T> {
  const spool = openSpool(opts);
  try {
    return await use(spool);
  } finally {
    spool.close();
  }
}

export function register(program: Command): void {
  const group = program.command('spool').description('inspect and repair the on-box store-and-forward spool (SQLite)');

  withSource(
    group.command('status').description('depth per stream, oldest record waiting, dead letters, disk use'),
  ).action(
    action((opts: SourceOptions) =>
      withSpool(opts, (spool) => {
        const status = spool.status();
        if (opts.json) return printJson(status);
        const rows = status.streams.map((s) =>
          [
            s.stream,
            s.depth,
            s.ready,
            s.waiting,
            s.leased,
            s.dead,
            s.forwarded,
            s.oldestPendingAt === null ? '-' : duration(Date.now() - s.oldestPendingAt),
          ].map(String),
        );
        printLines([
          `spool ${status.file} (schema ${status.schemaVersion}, ${megabytes(status.diskBytes)} on disk)`,
          ...table(['stream', 'depth', 'ready', 'waiting', 'leased', 'dead', 'forwarded', 'oldest'], rows),
          `to forward: ${status.depth}; dead letters: ${status.dead}` +
            (status.oldestPendingAgeMs === null ? '' : `; oldest waiting ${duration(status.oldestPendingAgeMs)}`),
          `offline card payments not yet advised: ${status.offline.count} (amount ${status.offline.amount})`,
          `card transactions: ${
            Object.entries(status.transactions)
              .map(([state, n]) => `${state} ${n}`)
              .join(', ') || 'none'
          }`,
        ]);
      }),
    ),
  );

  withSource(
    group
      .command('list')
      .description('outbox records in order (payloads masked; sealed card data is never shown)')
      .option('--stream <stream>', 'only this stream (waybill-event, transaction, advice, reversal, batch-upload)')
      .option('--state <state>', `only this state (${OUTBOX_STATES.join(', ')})`)
      .option('--limit <n>', 'at most this many records', '100'),
  ).action(
    action((opts: SourceOptions & { stream?: string; state?: string; limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new PosError('CODPOS_USAGE_BAD_OPTION', `--limit must be a positive integer, got "${opts.limit}"`);
      if (opts.state !== undefined && !OUTBOX_STATES.includes(opts.state as OutboxState)) {
        throw new PosError(
          'CODPOS_USAGE_BAD_OPTION',
          `--state must be one of ${OUTBOX_STATES.join(', ')}, got "${opts.state}"`,
        );
      }
      return withSpool(opts, (spool) => {
        if (opts.stream !== undefined && !spool.outbox.streams.includes(opts.stream)) {
          throw new PosError(
            'CODPOS_USAGE_BAD_OPTION',
            `--stream must be one of ${spool.outbox.streams.join(', ')}, got "${opts.stream}"`,
          );
        }
        const records = spool.outbox.list({
          limit,
          ...(opts.stream !== undefined ? { stream: opts.stream } : {}),
          ...(opts.state !== undefined ? { state: opts.state as OutboxState } : {}),
        });
        const shown = records.map(present);
        if (opts.json) return printJson(shown);
        if (shown.length === 0) return printLines(['no records']);
        printLines(
          table(
            ['seq', 'id', 'stream', 'state', 'tries', 'created', 'note', 'payload'],
            shown.map((r) => [
              String(r.seq),
              r.id,
              r.stream,
              r.state,
              String(r.attempts),
              iso(r.createdAt),
              note(r),
              clip(JSON.stringify(r.payload), 120),
            ]),
          ),
        );
      });
    }),
  );

  withSource(
    group
      .command('retry')
      .description('send a dead (or waiting) record again now, or every dead record with --dead')
      .argument('[id]', 'record id (from "codpos spool list")')
      .option('--dead', 'every dead-lettered record')
      .option('--stream <stream>', 'with --dead: only this stream'),
  ).action(
    action((id: string | undefined, opts: SourceOptions & { dead?: boolean; stream?: string }) => {
      if ((id === undefined) === !opts.dead)
        throw new PosError('CODPOS_USAGE_BAD_OPTION', 'give either a record id or --dead (not both)');
      return withSpool(opts, (spool) => {
        if (id !== undefined) {
          spool.outbox.retry(id);
          return opts.json ? printJson({ retried: [id] }) : printLines([`record ${id} will be sent again`]);
        }
        const count = spool.outbox.retryDead(opts.stream);
        return opts.json ? printJson({ retried: count }) : printLines([`${count} dead record(s) will be sent again`]);
      });
    }),
  );

  withSource(
    group
      .command('export')
      .description(
        'write a consistent copy of the spool (SQLite online backup, checked), safe while the daemon runs; the copy is created mode 0600 (owner only)',
      )
      .requiredOption(
        '--out <file>',
        'the backup file to create (must not exist); mode 0600: it holds PIN hashes, names and addresses',
      ),
  ).action(
    action((opts: SourceOptions & { out: string }) =>
      withSpool(opts, async (spool) => {
        const result = await ownerOnly(() => spool.backup(opts.out));
        chmodSync(result.file, EXPORT_MODE);
        const mode = EXPORT_MODE.toString(8).padStart(4, '0');
        if (opts.json) printJson({ ...result, mode, integrity: 'ok' });
        else
          printLines([
            `backup written to ${result.file} (${megabytes(result.bytes)}, mode ${mode}: owner only), integrity ok`,
          ]);
      }),
    ),
  );

  withSource(
    group
      .command('purge')
      .description('delete records forwarded, and card transactions finished, before a date (retention)')
      .requiredOption(
        '--forwarded-before <date>',
        'ISO 8601 date or date-time, e.g. 2026-05-01 or 2026-05-01T12:00:00Z',
      ),
  ).action(
    action((opts: SourceOptions & { forwardedBefore: string }) => {
      const before = parseDate(opts.forwardedBefore);
      return withSpool(opts, (spool) => {
        const purged = spool.purge(before);
        if (opts.json) printJson({ before: new Date(before).toISOString(), ...purged });
        else
          printLines([
            `purged ${purged.records} forwarded record(s), ${purged.transactions} finished card transaction(s) and ${purged.qrPayments} finished QR payment(s) from before ${new Date(before).toISOString()}`,
          ]);
      });
    }),
  );
}

/** An export holds courier PIN hashes, names and addresses: readable by its owner only. */
const EXPORT_MODE = 0o600;

/**
 * Runs `write` with a umask that takes every group and other bit away, so the files SQLite
 * creates (the copy and its journal) are never readable by others, not even for the moment
 * before a chmod.
 */
async function ownerOnly<T>(write: () => Promise<T>): Promise<T> {
  const previous = process.umask(0o077);
  try {
    return await write();
  } finally {
    process.umask(previous);
  }
}

/** A record as shown: never its sealed part. */
type ShownRecord = Omit<OutboxRecord, 'sealed'>;

/**
 * What may be shown of a record, field by field (a new OutboxRecord field does not
 * compile here until someone decides how it is shown); payload and last error masked.
 */
function present(record: OutboxRecord): ShownRecord {
  return {
    seq: record.seq,
    id: record.id,
    stream: record.stream,
    state: record.state,
    attempts: record.attempts,
    createdAt: record.createdAt,
    availableAt: record.availableAt,
    leaseOwner: record.leaseOwner,
    leaseUntil: record.leaseUntil,
    forwardedAt: record.forwardedAt,
    deadAt: record.deadAt,
    lastError: record.lastError === null ? null : (redact(record.lastError) as string),
    hasSealed: record.hasSealed,
    payload: redact(record.payload),
  };
}

function note(r: ShownRecord): string {
  if (r.state === 'dead') return `dead: ${r.lastError ?? ''}`;
  if (r.state === 'leased') return `leased by ${r.leaseOwner} until ${iso(r.leaseUntil!)}`;
  if (r.state === 'forwarded') return `forwarded ${iso(r.forwardedAt!)}`;
  if (r.availableAt > Date.now()) return `retry at ${iso(r.availableAt)}` + (r.lastError ? ` (${r.lastError})` : '');
  return r.lastError ? `last: ${r.lastError}` : '';
}

function parseDate(text: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms))
    throw new PosError(
      'CODPOS_USAGE_BAD_DATE',
      `--forwarded-before: expected an ISO 8601 date such as 2026-05-01 or 2026-05-01T12:00:00Z, got "${text}"`,
    );
  return ms;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max - 3) + '...' : text;
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(2)} MB`;
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}
