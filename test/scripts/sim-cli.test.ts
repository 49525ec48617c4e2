import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codposBin, readJsonLines, runCodpos } from '../helpers/cli.js';
import { SerialTransport } from '../../drivers/transport/serial.js';
import { ScannerDriver, type Scan } from '../../drivers/scanner/driver.js';
import { CardReaderDriver } from '../../drivers/card-reader/driver.js';
import { PrinterDriver } from '../../drivers/printer/driver.js';
import { PinpadDriver } from '../../drivers/pinpad/driver.js';

t.test('sim devices: prints the PTY paths, takes script commands on stdin, stops on SIGTERM', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'codpos-simcli-')), 'devices');
  const child = spawn(process.execPath, [codposBin, 'sim', 'devices', '--dir', dir, '--json'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const { lines, next } = readJsonLines(child.stdout);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const start = await next((l) => 'paths' in l);
  const paths = start.paths as Record<string, string>;
  t.same(Object.keys(paths), ['scanner', 'card-reader', 'pinpad', 'printer']);
  t.equal(paths.scanner, join(dir, 'scanner'));

  const scannerPort = new SerialTransport({ path: paths.scanner!, baudRate: 9600 });
  const scanner = new ScannerDriver(scannerPort);
  await scanner.start();
  const scan = new Promise<Scan>((resolve) => scanner.once('scan', resolve));
  child.stdin.write('scan 4006381333931 EAN-13\n');
  const got = await scan;
  t.same([got.symbology, got.data], ['EAN-13', '4006381333931']);

  const readerPort = new SerialTransport({ path: paths['card-reader']!, baudRate: 115200 });
  const reader = new CardReaderDriver(readerPort);
  await reader.start();
  const inserted = new Promise((resolve) => reader.once('card-inserted', resolve));
  child.stdin.write('insert visa-dda\n');
  t.same(await inserted, { chip: true });
  t.ok((await reader.powerOn()).length > 2, 'an ATR');

  const printerPort = new SerialTransport({ path: paths.printer!, baudRate: 115200 });
  const printer = new PrinterDriver(printerPort);
  await printer.start();
  await printer.print(printer.builder().line('hello from the test').cut().build());
  t.same((await next((l) => l.event === 'printer')).text, 'hello from the test', 'the decoded page is reported');

  // The PIN typed at the simulator's console is echoed as stars; only KSN + encrypted block leave the pad.
  const pinpadPort = new SerialTransport({ path: paths.pinpad!, baudRate: 19200 });
  const pinpad = new PinpadDriver(pinpadPort);
  await pinpad.start();
  const entry = pinpad.requestPin({ pan: '4012345678909' });
  await next((l) => l.event === 'pinpad' && /PIN requested/.test(String(l.text)));
  child.stdin.write('press 2468\n');
  t.match(await next((l) => l.command === 'press'), { ok: true, text: 'pinpad: ****' });
  child.stdin.write('enter\n');
  t.match(await entry, { outcome: 'pin', format: 0, pinBlock: /^[0-9A-F]{16}$/ });
  await next((l) => l.command === 'enter');
  t.notOk(
    lines.some((l) => JSON.stringify(l).includes('2468')),
    'the digits pressed never appear in the output',
  );

  child.stdin.write('insert no-such-card\n');
  t.match(await next((l) => l.ok === false), { error: 'CODPOS_EMV_UNKNOWN_CARD' });
  child.stdin.write('frobnicate\n');
  t.match(await next((l) => l.ok === false && l.error === 'CODPOS_USAGE_SIM_COMMAND'), {
    message: /unknown command "frobnicate"/,
  });

  for (const port of [scannerPort, readerPort, printerPort, pinpadPort]) await port.close();
  child.kill('SIGTERM');
  t.equal(await exited, 0);
  t.notOk(existsSync(paths.scanner!), 'links removed on stop');
});

t.test('sim --help lists devices', async (t) => {
  const result = runCodpos(['sim', '--help']);
  t.equal(result.status, 0);
  t.match(result.stdout, /devices/);
});
