/**
 * `codpos events [--json] [--since ID]`: follows the running daemon's event stream
 * (`GET /v1/events`, Server-Sent Events) in the terminal, one line per event: human (local
 * time, id, type, the event's fields) or JSON. When the daemon goes away (a restart) it
 * reconnects and resumes with Last-Event-ID, so no event is lost or repeated; an `events.gap`
 * the daemon sends says what could not be replayed. Ctrl-C ends it (exit 0). No daemon at the
 * first try exits 7. Events carry no card data; each line is scrubbed all the same.
 */
import type { Command } from 'commander';
import { request, type ClientRequest } from 'node:http';
import { PosError } from '../../../config/errors.js';
import { scrubText } from '../../../config/masking.js';
import { localTimeText } from '../../../runtime/payment/receipt.js';
import { action, printLines } from '../output.js';

export const order = 11;

interface EventsOptions {
  config?: string;
  json?: boolean;
  since?: string;
}

/** One event as read off the stream; `id` is absent on the daemon's per-client notices (events.gap). */
export interface StreamedEvent {
  id?: number;
  type: string;
  data: Record<string, unknown>;
}

export function register(program: Command): void {
  program
    .command('events')
    .description("follow the running daemon's events; resumes after a daemon restart without losing any")
    .option('--since <id>', 'start after this event id (the kept events after it are replayed first)')
    .option('--config <file>', 'config file, for data.dir and api.socket')
    .option('--json', 'one JSON object per event')
    .action(action(async (opts: EventsOptions) => followEvents(opts)));
}

async function followEvents(opts: EventsOptions): Promise<void> {
  if (opts.since !== undefined && !/^[0-9]{1,15}$/.test(opts.since))
    throw new PosError('CODPOS_USAGE_BAD_OPTION', `--since: expected an event id (a whole number), not ${opts.since}`, {
      details: { option: '--since' },
    });
  const { loadConfig } = await import('../../../config/load.js');
  const { apiSocketPath } = await import('../../../runtime/api/server.js');
  const socketPath = apiSocketPath(loadConfig({ file: opts.config }).config);
  let lastId = opts.since;
  let connectedOnce = false;
  let current: ClientRequest | undefined;
  let stopping = false;
  const stop = () => {
    stopping = true;
    current?.destroy();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let toldAway = false;
  while (!stopping) {
    const ended = await new Promise<'ended' | NodeJS.ErrnoException>((resolve) => {
      const parser = new EventStreamParser((event) => {
        if (event.id !== undefined) lastId = String(event.id);
        printLines([opts.json ? JSON.stringify(event) : eventLine(event)]);
      });
      current = request(
        { socketPath, path: '/v1/events', headers: lastId !== undefined ? { 'Last-Event-ID': lastId } : {} },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            resolve(Object.assign(new Error(`the daemon answered ${res.statusCode ?? '?'}`), { code: 'HTTP' }));
            return;
          }
          connectedOnce = true;
          if (toldAway) process.stderr.write(`codpos: reconnected, resuming after event ${lastId ?? '(none)'}\n`);
          toldAway = false;
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => parser.push(chunk));
          res.on('end', () => resolve('ended'));
          res.on('error', () => resolve('ended'));
        },
      );
      current.on('error', (error: NodeJS.ErrnoException) => resolve(error));
      current.end();
    });
    if (stopping) break;
    if (ended !== 'ended' && !connectedOnce) {
      throw new PosError(
        'CODPOS_DAEMON_NOT_RUNNING',
        `no codposd answers on ${socketPath} (${ended.code ?? ended.message}): is it running? (systemctl status codposd)`,
        { details: { socket: socketPath } },
      );
    }
    if (!toldAway)
      process.stderr.write(
        `codpos: the daemon went away (${ended === 'ended' ? 'stream ended' : (ended.code ?? ended.message)}); reconnecting\n`,
      );
    toldAway = true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** `08:49:20  #1042  payment.approved  journalId=01a2... responseCode=00 reason="..."` (the time is the terminal's local time). */
export function eventLine(event: StreamedEvent): string {
  const { at, ...fields } = event.data;
  const time = typeof at === 'string' && !Number.isNaN(Date.parse(at)) ? localTimeText(new Date(at)) : '--:--:--';
  const parts = Object.entries(fields).map(([key, value]) => `${key}=${fieldText(value)}`);
  return scrubText([time, event.id !== undefined ? `#${event.id}` : '#-', event.type, ...parts].join('  ').trimEnd());
}

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? 'null';
}

/**
 * Server-Sent Events as the daemon writes them: `id:`, `event:`, `data:` lines, a blank line
 * ending each event, `:` comment lines (heartbeats) ignored. Chunks may split anywhere.
 */
export class EventStreamParser {
  private buffer = '';
  private id: string | undefined;
  private type: string | undefined;
  private data: string[] = [];

  constructor(private readonly onEvent: (event: StreamedEvent) => void) {}

  push(chunk: string): void {
    this.buffer += chunk;
    for (let end = this.buffer.indexOf('\n'); end >= 0; end = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, end).replace(/\r$/, '');
      this.buffer = this.buffer.slice(end + 1);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0 || this.type !== undefined) this.dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') this.id = value;
    else if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
  }

  private dispatch(): void {
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(this.data.join('\n')) as Record<string, unknown>;
    } catch {
      data = { text: this.data.join('\n') };
    }
    const id = this.id !== undefined && /^[0-9]+$/.test(this.id) ? Number(this.id) : undefined;
    this.onEvent({ ...(id !== undefined ? { id } : {}), type: this.type ?? 'message', data });
    this.id = undefined;
    this.type = undefined;
    this.data = [];
  }
}
