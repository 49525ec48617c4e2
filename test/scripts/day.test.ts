/**
 * `npm start -- --once`: the courier's day played through the daemon's local API on the
 * simulated terminal, as a new user runs it. A child process, as
 * `npm start` runs it; its data directory is the test's.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dayScript = fileURLToPath(new URL('../../dist/scripts/day.js', import.meta.url));
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

t.test(
  'npm start -- --once plays the day, reconciles every COD waybill, names its receipts and signature PNGs, and exits 0',
  async (t) => {
    const dir = join(mkdtempSync(join(tmpdir(), 'codpos-day-')), 'day');
    t.teardown(() => rmSync(join(dir, '..'), { recursive: true, force: true }));
    const child = spawn(process.execPath, [dayScript, '--once', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CODPOS_'))),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    t.equal(code, 0, `exit 0 (stdout:\n${out}\nstderr:\n${err})`);
    const lines = out.trim().split('\n');
    t.notOk(
      lines.some((line) => line.startsWith('{')),
      'progress lines, not JSON: the daemon logs to its file',
    );
    for (const step of [
      'check-in',
      'task list',
      'pickup',
      'dispatch',
      'delivery',
      'exception',
      'uplink',
      'settlement',
      'reconciliation',
      'handover',
    ]) {
      t.ok(
        lines.some((line) => line.includes(` ${step} `) || line.includes(`${step} `)),
        `a line for ${step}`,
      );
    }
    t.match(out, /by chip \+ PIN/);
    t.match(out, /pickup .* quoted USD \d+\.\d\d \(City\) from the cached tariff/);
    t.match(out, /by swipe after the chip failed/);
    t.match(out, /card approved only USD 25\.00 \(partial\), USD 15\.00 collected in cash/);
    t.match(out, /records wait in the spool/);
    t.match(out, /settled in balance/);
    t.match(out, /reconciliation: every COD waybill reconciled/);
    t.match(
      out,
      /handover: USD 33\.00 counted by DEPOT-07, USD 33\.00 expected, difference USD 0\.00, slip printed; the day is closed/,
      'the cash handed over is the cash collected (18.00 + 15.00)',
    );
    t.match(out, /status page: http:\/\/127\.0\.0\.1:\d+\//);
    const log = readFileSync(join(dir, 'codposd.log'), 'utf8').trim().split('\n');
    t.ok(log.length > 5 && log.every((line) => line.startsWith('{')), "the daemon's JSON log went to its file");
    t.notMatch(log.join('\n'), /4761739001010119|5413330089020011/, 'no full PAN in the log');
    const signatures = /signatures: (.*)$/m.exec(out)?.[1]?.split(', ') ?? [];
    t.equal(signatures.length, 5, 'one signature per delivery');
    for (const file of signatures) t.same(readFileSync(file).subarray(0, 8), PNG_MAGIC, `${file} is a PNG`);
    t.ok(existsSync(join(dir, 'receipts', '001.txt')), 'receipts rendered');
    t.match(
      readFileSync(join(dir, 'receipts', '001.txt'), 'utf8'),
      /\*\*\*\* \d{4}/,
      'the card as its last four digits',
    );
  },
);
