import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codposBin, runCodpos } from '../helpers/cli.js';
import { openPtyPair } from '../../drivers/transport/pty-pair.js';
import { SerialTransport } from '../../drivers/transport/serial.js';
import { PrinterSim } from '../../drivers/printer/sim.js';
import { PinpadSim } from '../../drivers/pinpad/sim.js';

/** Runs codpos without blocking this process's event loop (a simulator may live here). */
function runAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [codposBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

for (const [device, extra, summary] of [
  ['scanner', [], /scanner read Code 128 "RR123456785CH"/],
  ['card', [], /chip answered: ATR \d+ bytes, SELECT PSE 9000/],
  ['pinpad', [], /PIN pad answers, tdes DUKPT, next KSN FFFF9876543210E00001/],
  ['printer', ['--test-page'], /test page printed on 58mm paper/],
] as const) {
  t.test(`diag ${device} --sim passes with a verdict`, async (t) => {
    const human = runCodpos(['diag', device, '--sim', ...extra]);
    t.equal(human.status, 0, human.stderr);
    t.match(human.stdout.trim().split('\n').at(-1), /^PASS: /);
    const json = runCodpos(['diag', device, '--sim', '--json', ...extra]);
    const result = JSON.parse(json.stdout) as Record<string, unknown>;
    t.equal(result.verdict, 'pass');
    t.match(result.summary, summary);
    if (device === 'pinpad')
      t.notOk(
        Object.keys(result).some((k) => /^pin$|pinBlock/i.test(k)),
        'no PIN or PIN block in the output',
      );
    if (device === 'printer') t.match(result.printed, ['CODPOS TEST', /58mm/]);
  });
}

t.test('diag printer --test-page over a real pseudo-terminal: the printer decodes the page', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-diag-'));
  const pair = await openPtyPair(join(dir, 'printer'), join(dir, 'printer.sim'));
  const end = new SerialTransport({ path: pair.devicePath, baudRate: 115200 });
  const sim = new PrinterSim(end);
  await sim.start();
  const result = await runAsync(['diag', 'printer', '--path', pair.hostPath, '--test-page']);
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /PASS: test page printed/);
  const page = sim.pages[0]!;
  t.equal(page[0], 'CODPOS TEST');
  t.ok(page.includes('[CODE128 RR123456785CH]'));
  t.ok(page.includes('[QR https://codpos.example/t/RR123456785CH]'));
  t.ok(page.some((l) => /^\[RASTER 320x48\]$/.test(l)));
  t.same(sim.unknown, [], 'every command of the test page is known');
  t.equal(sim.pngs().length, 2, 'the QR symbol and the signature');
  await sim.stop();
  await pair.close();
});

t.test('diag pinpad over a real pseudo-terminal shows the KSN, never a PIN', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-diag-'));
  const pair = await openPtyPair(join(dir, 'pinpad'), join(dir, 'pinpad.sim'));
  const end = new SerialTransport({ path: pair.devicePath, baudRate: 19200 });
  const sim = new PinpadSim(end, { bdk: '0123456789ABCDEFFEDCBA9876543210', ksn: 'FFFF9876543210E00007' });
  await sim.start();
  const result = await runAsync(['diag', 'pinpad', '--path', pair.hostPath, '--json']);
  t.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout) as Record<string, unknown>;
  t.equal(report.nextKsn, 'FFFF9876543210E00008');
  t.equal(report.selfTest, 'ok');
  t.equal(report.protocol, 'codpos extension (identify ZX1)');
  t.equal(sim.screen, 'CODPOS DIAG OK');
  await sim.stop();
  await pair.close();
});

t.test(
  'diag pinpad on a standard VeriFone pad (no codpos extension): passes with the standard display message, and says so',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'codpos-diag-'));
    const pair = await openPtyPair(join(dir, 'pinpad'), join(dir, 'pinpad.sim'));
    const end = new SerialTransport({ path: pair.devicePath, baudRate: 19200 });
    const sim = new PinpadSim(end, {
      bdk: '0123456789ABCDEFFEDCBA9876543210',
      ksn: 'FFFF9876543210E00007',
      standardOnly: true,
    });
    const ignored: string[] = [];
    sim.on('unknown', (head: string) => ignored.push(head));
    await sim.start();
    // The pad never answers identify, so the timeout only sets how soon the fallback starts.
    const json = await runAsync(['diag', 'pinpad', '--path', pair.hostPath, '--json', '--timeout', '500']);
    t.equal(json.status, 0, json.stderr);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    t.equal(report.verdict, 'pass');
    t.equal(report.protocol, 'standard VeriFone (display Z2)');
    t.match(report.identify, /not answered \(CODPOS_DEVICE_PINPAD_TIMEOUT\)/);
    t.match(report.summary, /answers the standard display message/);
    t.notOk('nextKsn' in report, 'no KSN is made up');
    t.equal(sim.screen, 'CODPOS DIAG OK', 'the standard display message reached the pad');
    t.same(ignored, ['ZX1'], 'the extension was sent once and ignored by the pad');
    const human = await runAsync(['diag', 'pinpad', '--path', pair.hostPath, '--timeout', '500']);
    t.equal(human.status, 0, human.stderr);
    t.match(human.stdout, /^protocol\s+standard VeriFone \(display Z2\)$/m);
    t.match(human.stdout.trim().split('\n').at(-1), /^PASS: PIN pad answers the standard display message/);
    await sim.stop();
    await pair.close();
  },
);

t.test('a device that is not there: FAIL verdict, exit 3, no stack trace', async (t) => {
  const result = runCodpos(['diag', 'scanner', '--path', '/dev/codpos-no-such-tty']);
  t.equal(result.status, 3);
  t.match(result.stdout, /FAIL: serial \/dev\/codpos-no-such-tty @ 9600 is offline: cannot open/);
  t.notMatch(result.stdout + result.stderr, /at .*\.js:\d+/);
  const bad = runCodpos(['diag', 'scanner', '--sim', '--timeout', 'soon']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /--timeout must be a positive integer/);
});

t.test('diag devices lists serial, HID and BLE and ends with a verdict', async (t) => {
  const result = runCodpos(['diag', 'devices', '--json', '--ble-timeout', '200']);
  t.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout) as Record<string, unknown>;
  t.equal(report.verdict, 'pass');
  t.ok(Array.isArray(report.serial));
  t.ok(
    Array.isArray(report.hid) || /^unavailable: .*libusb-1\.0-0/.test(String(report.hid)),
    'HID listed or its absence explained',
  );
  t.ok(Array.isArray(report.ble) || /^unsupported: /.test(String(report.ble)), 'BLE listed or reported unsupported');
});
