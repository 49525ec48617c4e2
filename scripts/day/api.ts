/**
 * The day player's hands on the daemon: JSON over the local API's Unix socket, as the screen
 * app calls it. An error answer becomes an Error naming the path, the code and the message.
 */
import { request } from 'node:http';

export interface ApiError extends Error {
  code: string;
  status: number;
}

export class DaemonApi {
  constructor(private readonly socketPath: string) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              reject(new Error(`${method} ${path}: the daemon's answer is not JSON (${res.statusCode ?? '?'})`));
              return;
            }
            if (res.statusCode === 200) return resolve(parsed as T);
            const error = (parsed as { error?: { code?: string; message?: string } }).error;
            const failure = new Error(
              `${method} ${path}: ${error?.code ?? res.statusCode}: ${error?.message ?? text}`,
            ) as ApiError;
            failure.code = error?.code ?? 'UNKNOWN';
            failure.status = res.statusCode ?? 0;
            reject(failure);
          });
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }
}

/** One Server-Sent Event of GET /v1/events. */
export interface DayEvent {
  id: number;
  type: string;
  data: Record<string, unknown>;
}

/**
 * Follows GET /v1/events from now on and keeps what arrives, so the player can wait for the
 * daemon to reach a step (the payment waiting for a swipe) instead of guessing with a sleep.
 */
export class EventFollower {
  readonly events: DayEvent[] = [];
  private waiters: Array<{ match: (event: DayEvent) => boolean; resolve: (event: DayEvent) => void }> = [];
  private closeStream: (() => void) | undefined;

  constructor(socketPath: string) {
    const req = request({ socketPath, method: 'GET', path: '/v1/events' }, (res) => {
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
          this.take(buffered.slice(0, end));
          buffered = buffered.slice(end + 2);
        }
      });
    });
    req.on('error', () => undefined);
    req.end();
    this.closeStream = () => req.destroy();
  }

  /** The next event (after `from`, an index into `events`) that `match` accepts. */
  next(match: (event: DayEvent) => boolean, from = 0): Promise<DayEvent> {
    const seen = this.events.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  close(): void {
    this.closeStream?.();
  }

  private take(block: string): void {
    const fields = Object.fromEntries(
      block
        .split('\n')
        .filter((line) => !line.startsWith(':'))
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
    );
    if (fields.event === undefined) return;
    const event: DayEvent = {
      id: Number(fields.id),
      type: fields.event,
      data: JSON.parse(fields.data ?? '{}') as Record<string, unknown>,
    };
    this.events.push(event);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.match(event)) return true;
      waiter.resolve(event);
      return false;
    });
  }
}
