/**
 * Debian's Chromium, headless, driven over the DevTools protocol on a pipe
 * (`--remote-debugging-pipe`: the browser reads commands on fd 3 and writes answers and
 * events on fd 4, each a JSON text ended by a NUL byte), so browser tests need no npm
 * package and no WebSocket client. One page per browser, enough for the status page test.
 *
 * Chromium missing is a failure naming the package (CI's .ci/run installs it), never a skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** Where Debian's package `chromium` puts the browser; CODPOS_CHROMIUM names another. */
export function chromiumPath(): string {
  const path = process.env.CODPOS_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `no Chromium at ${path}: install Debian's package "chromium" (apt-get install -y chromium; .ci/run installs it), or set CODPOS_CHROMIUM to a Chromium binary`,
    );
  }
  return path;
}

interface Pending {
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: Error) => void;
  method: string;
}

export class HeadlessPage {
  /** Uncaught exceptions and console errors the page reported (a CSP refusal among them). */
  readonly errors: string[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private sessionId: string | undefined;
  private buffered = '';

  constructor(
    private readonly child: ChildProcess,
    private readonly userDataDir: string,
  ) {
    const output = child.stdio[4] as Readable;
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => this.receive(chunk));
    child.once('exit', (code, signal) => {
      for (const waiting of this.pending.values())
        waiting.reject(new Error(`chromium exited (${code ?? signal}) before answering ${waiting.method}`));
      this.pending.clear();
    });
  }

  /** Opens a page target and attaches to it (flat session: every command names the session). */
  async open(width: number, height: number): Promise<void> {
    const { targetId } = (await this.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    this.sessionId = (
      (await this.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string }
    ).sessionId;
    await this.send('Runtime.enable');
    await this.send('Log.enable');
    await this.send('Page.enable');
    await this.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
  }

  async navigate(url: string): Promise<void> {
    const answer = (await this.send('Page.navigate', { url })) as { errorText?: string };
    if (answer.errorText) throw new Error(`chromium could not load ${url}: ${answer.errorText}`);
  }

  /** The value of a JavaScript expression in the page (awaited when it is a promise), as JSON. */
  async evaluate<T>(expression: string): Promise<T> {
    const answer = (await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as {
      result: { value?: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (answer.exceptionDetails)
      throw new Error(`in the page: ${answer.exceptionDetails.exception?.description ?? answer.exceptionDetails.text}`);
    return answer.result.value as T;
  }

  /** Polls `expression` until it is truthy; fails naming `what` after `timeoutMs` (generous: the machine may be busy). */
  async waitFor(expression: string, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // The document may not be there yet right after a navigation: an error is 'not yet'.
      if (await this.evaluate<boolean>(`(() => { try { return Boolean(${expression}); } catch { return false; } })()`))
        return;
      if (Date.now() > deadline)
        throw new Error(
          `the page never showed ${what} (${expression}); page errors: ${this.errors.join(' | ') || 'none'}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The page as a PNG, the whole scrollable height. */
  async screenshot(): Promise<Buffer> {
    const { data } = (await this.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true })) as {
      data: string;
    };
    return Buffer.from(data, 'base64');
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.killGroup();
      await exited;
    } else {
      this.killGroup();
    }
    for (const stream of this.child.stdio) stream?.destroy();
    // A helper process may still be writing its profile for a moment.
    rmSync(this.userDataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }

  private killGroup(): void {
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const message = {
      id,
      method,
      params,
      ...(this.sessionId && !method.startsWith('Target.') ? { sessionId: this.sessionId } : {}),
    };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      (this.child.stdio[3] as Writable).write(`${JSON.stringify(message)}\0`);
    });
  }

  private receive(chunk: string): void {
    this.buffered += chunk;
    let end: number;
    while ((end = this.buffered.indexOf('\0')) >= 0) {
      const message = JSON.parse(this.buffered.slice(0, end)) as {
        id?: number;
        result?: Record<string, unknown>;
        error?: { message: string };
        method?: string;
        params?: Record<string, unknown>;
      };
      this.buffered = this.buffered.slice(end + 1);
      if (message.id !== undefined) {
        const waiting = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) waiting?.reject(new Error(`${waiting.method}: ${message.error.message}`));
        else waiting?.resolve(message.result ?? {});
      } else if (message.method) this.observe(message.method, message.params ?? {});
    }
  }

  private observe(method: string, params: Record<string, unknown>): void {
    if (method === 'Runtime.exceptionThrown') {
      const details = params.exceptionDetails as { text: string; exception?: { description?: string } };
      this.errors.push(details.exception?.description ?? details.text);
    } else if (method === 'Log.entryAdded') {
      const entry = params.entry as { level: string; text: string; url?: string };
      if (entry.level === 'error') this.errors.push(`${entry.text}${entry.url ? ` (${entry.url})` : ''}`);
    } else if (method === 'Runtime.consoleAPICalled' && params.type === 'error') {
      this.errors.push(JSON.stringify(params.args));
    }
  }
}

/**
 * Starts headless Chromium with an empty profile and opens one page of `width` x `height`.
 * The flags keep it off the network but for the URLs the test loads (this machine's network
 * is closed; background services would only fail) and let it run as root in a container.
 */
export async function launchHeadlessPage(width = 1280, height = 1000): Promise<HeadlessPage> {
  const binary = chromiumPath();
  const userDataDir = mkdtempSync(join(tmpdir(), 'codpos-chromium-'));
  const child = spawn(
    binary,
    [
      '--headless',
      '--remote-debugging-pipe',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-extensions',
      '--hide-scrollbars',
      '--mute-audio',
      `--user-data-dir=${userDataDir}`,
      'about:blank',
    ],
    // Its own process group: closing it kills the renderer and utility processes too, which
    // would otherwise keep the pipes (and so the test process) open after the browser exits.
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const page = new HeadlessPage(child, userDataDir);
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`chromium did not start: ${error.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`chromium exited (${code ?? signal}) at start: ${stderr}`)));
  });
  failed.catch(() => undefined);
  try {
    await Promise.race([page.open(width, height), failed]);
  } catch (error) {
    await page.close();
    throw error;
  }
  return page;
}
