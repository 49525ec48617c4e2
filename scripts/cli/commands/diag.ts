/**
 * `codpos diag devices|scanner|card|pinpad|printer`: a technician's test of
 * each device. Each picks its transport from the config, or from --path
 * (serial) / --sim (the in-process simulator), and ends with one verdict line
 * (`PASS: ...` exit 0, `FAIL: ...` exit 3). Card data is masked; the PIN pad
 * test reads the KSN and the self-test only, never a PIN.
 */
import type { Command } from 'commander';
import type { Config } from '../../../config/schema.js';
import { PosError } from '../../../config/errors.js';
import { scrubText } from '../../../config/masking.js';
import type { BlePeripheralInfo } from '../../../drivers/transport/ble.js';
import type { BuiltDevice } from '../../../drivers/factory.js';
import type { Scan } from '../../../drivers/scanner/driver.js';
import type { PinpadDriver } from '../../../drivers/pinpad/driver.js';
import { action, printJson, printLines } from '../output.js';
import { CONFIG_FILE_DEFAULT_HELP } from '../../../config/paths.js';

// Every `codpos` run loads this module, so the drivers, the virtual cards and the
// config loader are imported only by the command that needs them.
const load = {
  config: () => import('../../../config/load.js'),
  factory: () => import('../../../drivers/factory.js'),
};

export const order = 50;

interface DeviceOptions {
  config?: string;
  path?: string;
  baud?: string;
  sim?: boolean;
  timeout?: string;
  json?: boolean;
}

/** Collects what a diag found and prints it with the verdict at the end. */
class Report {
  private readonly facts: Record<string, unknown> = {};
  constructor(
    private readonly device: string,
    private readonly json: boolean,
  ) {}
  line(label: string, value: unknown): void {
    this.facts[label.replace(/[ -](\w)/g, (_, c: string) => c.toUpperCase())] = value;
    if (!this.json) printLines([`${label.padEnd(14)} ${typeof value === 'string' ? value : JSON.stringify(value)}`]);
  }
  pass(summary: string): void {
    if (this.json) printJson({ device: this.device, verdict: 'pass', summary, ...this.facts });
    else printLines([`PASS: ${summary}`]);
  }
  fail(summary: string): void {
    if (this.json) printJson({ device: this.device, verdict: 'fail', summary: scrubText(summary), ...this.facts });
    else printLines([`FAIL: ${scrubText(summary)}`]);
    process.exitCode = 3;
  }
}

function positive(value: string | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new PosError(
      'CODPOS_USAGE_OPTION',
      `${option} must be a positive integer (milliseconds or baud), got "${value}"`,
    );
  return n;
}

/** The device's config section with the transport the flags ask for. */
function settingsFor<K extends keyof Config['devices']>(
  config: Config,
  key: K,
  opts: DeviceOptions,
): Config['devices'][K] {
  const section = config.devices[key];
  const transport = opts.sim
    ? { kind: 'sim' as const }
    : opts.path
      ? { kind: 'serial' as const, path: opts.path }
      : section.transport;
  const baudRate = positive(opts.baud, section.baudRate, '--baud');
  return { ...section, transport, baudRate };
}

function deviceCommand(group: Command, name: string, description: string): Command {
  return group
    .command(name)
    .description(description)
    .option('--config <file>', `config file (default: ${CONFIG_FILE_DEFAULT_HELP})`)
    .option('--path <device>', 'use this serial device instead of the configured transport')
    .option('--baud <rate>', 'serial speed (default: from the config)')
    .option('--sim', 'test against the in-process simulator')
    .option('--json', 'one JSON object with the verdict');
}

type Lifecycle = { start(): Promise<void>; stop(): Promise<void> };

/**
 * Starts the device, runs the test, and stops the device whatever happened. A device
 * that is not online, or a device error during the test, ends in a FAIL verdict.
 */
async function runDiag(
  device: BuiltDevice<Lifecycle, Lifecycle>,
  report: Report,
  test: () => Promise<void>,
): Promise<void> {
  const { startDevice, stopDevice } = await load.factory();
  try {
    await startDevice(device);
    report.line('transport', device.link.description);
    if (device.link.state.state !== 'online') {
      return report.fail(
        `${device.link.description} is ${device.link.state.state}: ${device.link.state.reason ?? 'unknown reason'}`,
      );
    }
    await test();
  } catch (error) {
    if (error instanceof PosError) return report.fail(error.message);
    throw error;
  } finally {
    await stopDevice(device);
  }
}

function waitFor<T>(
  emitter: NodeJS.EventEmitter,
  events: string[],
  timeoutMs: number,
): Promise<{ event: string; value: T } | undefined> {
  return new Promise((resolve) => {
    const handlers = events.map((event) => {
      const handler = (value: T) => finish({ event, value });
      emitter.once(event, handler);
      return [event, handler] as const;
    });
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    function finish(result: { event: string; value: T } | undefined) {
      clearTimeout(timer);
      for (const [event, handler] of handlers) emitter.off(event, handler);
      resolve(result);
    }
  });
}

export function register(program: Command): void {
  const group = program
    .command('diag')
    .description('test the devices (scanner, card reader, PIN pad, printer) with a clear verdict');

  group
    .command('devices')
    .description('list serial ports, USB HID devices (with usage pages) and BLE peripherals')
    .option('--ble-timeout <ms>', 'how long to scan for Bluetooth LE peripherals', '5000')
    .option('--no-ble', 'skip the Bluetooth LE scan')
    .option('--json', 'one JSON object')
    .action(action(async (opts: { bleTimeout: string; ble: boolean; json?: boolean }) => diagDevices(opts)));

  deviceCommand(group, 'scanner', 'wait for one barcode and show its symbology and data')
    .option('--timeout <ms>', 'how long to wait for a scan', '30000')
    .action(action(async (opts: DeviceOptions) => diagScanner(opts)));

  deviceCommand(group, 'card', 'reader status, then insert a chip card (ATR + SELECT PSE) or swipe one (masked PAN)')
    .option('--timeout <ms>', 'how long to wait for a card', '30000')
    .action(action(async (opts: DeviceOptions) => diagCard(opts)));

  deviceCommand(
    group,
    'pinpad',
    'PIN pad identity, DUKPT KSN and self-test (never asks for a PIN); a standard VeriFone pad: the display message',
  )
    .option(
      '--timeout <ms>',
      'how long to wait for the answer to identify (a codpos extension) before falling back to the standard display message',
      '5000',
    )
    .action(action(async (opts: DeviceOptions) => diagPinpad(opts)));

  deviceCommand(
    group,
    'printer',
    'printer status (DLE EOT); with --test-page, print text sizes, barcodes, QR and a raster image',
  )
    .option('--test-page', 'print the test page')
    .option(
      '--timeout <ms>',
      'how long the test page may wait for the printer (paper, cover) before it is cancelled',
      '60000',
    )
    .action(action(async (opts: DeviceOptions & { testPage?: boolean }) => diagPrinter(opts)));
}

async function diagDevices(opts: { bleTimeout: string; ble: boolean; json?: boolean }): Promise<void> {
  const report = new Report('devices', Boolean(opts.json));
  const { listSerialPorts } = await import('../../../drivers/transport/serial-list.js');
  const { listHidDevices } = await import('../../../drivers/transport/hid.js');
  const { scanBle } = await import('../../../drivers/transport/ble.js');
  const { HID_POS_USAGE_PAGE } = await import('../../../drivers/scanner/hid-pos.js');
  const serial = await listSerialPorts();
  report.line(
    'serial',
    serial.map((p) => p.path + (p.manufacturer ? ` (${p.manufacturer})` : '')),
  );
  let hidSummary: string;
  try {
    const hid = listHidDevices();
    report.line(
      'hid',
      hid.map((d) => {
        const id = `${d.vendorId.toString(16).padStart(4, '0')}:${d.productId.toString(16).padStart(4, '0')}`;
        const page =
          d.usagePage === undefined
            ? ''
            : ` usage page 0x${d.usagePage.toString(16).toUpperCase()}${d.usagePage === HID_POS_USAGE_PAGE ? ' (HID POS scanner)' : d.usagePage === 1 && d.usage === 6 ? ' (keyboard)' : ''}`;
        return `${id}${page} ${d.product ?? ''}`.trim();
      }),
    );
    hidSummary = `${hid.length} HID`;
  } catch (error) {
    report.line('hid', `unavailable: ${(error as Error).message}`);
    hidSummary = 'HID unavailable';
  }
  let bleSummary = 'BLE skipped';
  if (opts.ble) {
    const timeoutMs = positive(opts.bleTimeout, 5000, '--ble-timeout');
    let progress = opts.json ? undefined : setInterval(() => process.stderr.write('.'), 500);
    const endProgress = () => {
      if (!progress) return;
      clearInterval(progress);
      progress = undefined;
      process.stderr.write('\n');
    };
    try {
      if (!opts.json) process.stderr.write(`scanning Bluetooth LE for ${timeoutMs} ms `);
      const found: BlePeripheralInfo[] = await scanBle({
        timeoutMs,
        onFound: () => void (!opts.json && process.stderr.write('+')),
      });
      endProgress();
      report.line(
        'ble',
        found.map((p) => `${p.address} ${p.name ?? '(no name)'} rssi ${p.rssi}`),
      );
      bleSummary = `${found.length} BLE`;
    } catch (error) {
      endProgress();
      report.line('ble', `unsupported: ${(error as Error).message}`);
      bleSummary = 'BLE unsupported';
    }
    // noble may keep an HCI socket open; the listing is done, so let the process end.
    setTimeout(() => process.exit(), 200).unref();
  }
  report.pass(`${serial.length} serial port(s), ${hidSummary}, ${bleSummary}`);
}

async function diagScanner(opts: DeviceOptions): Promise<void> {
  const { loadConfig } = await load.config();
  const { buildScanner, loadSimKit } = await load.factory();
  const { config } = loadConfig({ file: opts.config });
  const report = new Report('scanner', Boolean(opts.json));
  const timeoutMs = positive(opts.timeout, 30000, '--timeout');
  const device = buildScanner(settingsFor(config, 'scanner', opts), { sims: await loadSimKit() });
  await runDiag(device, report, async () => {
    if (!opts.json) printLines([`scan a barcode within ${Math.round(timeoutMs / 1000)} s ...`]);
    const waiting = waitFor<Scan>(device.driver, ['scan'], timeoutMs);
    if (device.sim) await device.sim.scan('RR123456785CH', 'Code 128');
    const got = await waiting;
    if (!got)
      return report.fail(`no scan within ${timeoutMs} ms (check the scanner's suffix/AIM settings match the config)`);
    report.line('symbology', got.value.symbology);
    report.line('data', got.value.data);
    report.pass(`scanner read ${got.value.symbology} "${got.value.data}"`);
  });
}

async function diagCard(opts: DeviceOptions): Promise<void> {
  const { loadConfig } = await load.config();
  const { buildCardReader, loadSimKit } = await load.factory();
  const { config } = loadConfig({ file: opts.config });
  const report = new Report('card', Boolean(opts.json));
  const timeoutMs = positive(opts.timeout, 30000, '--timeout');
  const settings = settingsFor(config, 'cardReader', opts);
  const device = buildCardReader(settings, { sims: await loadSimKit() });
  const { maskPan } = await import('../../../config/masking.js');
  const { VirtualCard, loadCardProfile } = await import('../../../emv/card/index.js');
  await runDiag(device, report, async () => {
    const status = await device.driver.status();
    report.line('slot', status.slot);
    if (!opts.json) printLines([`insert or swipe a card within ${Math.round(timeoutMs / 1000)} s ...`]);
    const waiting =
      status.slot !== 'empty'
        ? Promise.resolve({ event: 'card-inserted', value: { chip: status.chip } as unknown })
        : waitFor<unknown>(device.driver, ['card-inserted', 'swipe', 'chip-mute'], timeoutMs);
    if (device.sim) void device.sim.insert(new VirtualCard(loadCardProfile(settings.simCards[0] ?? 'visa-dda')));
    const got = await waiting;
    if (!got) return report.fail(`no card inserted or swiped within ${timeoutMs} ms`);
    if (got.event === 'swipe') {
      const { track2 } = got.value as { track1?: string; track2?: string };
      const pan = /^;?(\d{12,19})=/.exec(track2 ?? '')?.[1];
      if (!pan) return report.fail('swipe read, but track 2 is missing or unreadable');
      report.line('pan', maskPan(pan));
      return report.pass(`magstripe read, PAN ${maskPan(pan)}`);
    }
    if (got.event === 'chip-mute')
      return report.fail('the chip does not answer (mute); try another card or clean the contacts');
    const atr = await device.driver.powerOn();
    report.line('atr', atr.toString('hex').toUpperCase());
    const response = await device.driver.transmit(Buffer.from('00A404000E315041592E5359532E444446303100', 'hex'));
    const sw = response.subarray(-2).toString('hex').toUpperCase();
    report.line('select pse', `SW ${sw}, ${response.length - 2} bytes`);
    await device.driver.powerOff();
    report.pass(`chip answered: ATR ${atr.length} bytes, SELECT PSE ${sw}`);
  });
}

async function diagPinpad(opts: DeviceOptions): Promise<void> {
  const { loadConfig } = await load.config();
  const { buildPinpad, loadSimKit } = await load.factory();
  const { config } = loadConfig({ file: opts.config });
  const report = new Report('pinpad', Boolean(opts.json));
  const timeoutMs = positive(opts.timeout, 5000, '--timeout');
  const device = buildPinpad(settingsFor(config, 'pinpad', opts), { sims: await loadSimKit() });
  await runDiag(device, report, async () => {
    let identity;
    try {
      identity = await device.driver.identify({ timeoutMs });
    } catch (error) {
      // A standard VeriFone pad does not know identify (ZX1, our extension): it stays silent,
      // refuses the packet or ends it with EOT. A pad that is gone fails the display too.
      if (!(error instanceof PosError) || error.disconnected) throw error;
      return diagStandardPinpad(device.driver, report, error);
    }
    report.line('protocol', 'codpos extension (identify ZX1)');
    report.line('model', identity.model);
    report.line('dukpt', identity.dukpt);
    report.line('next ksn', identity.ksn);
    report.line('self-test', identity.selfTestOk ? 'ok' : 'FAILED');
    await device.driver.display('CODPOS DIAG OK');
    if (!identity.selfTestOk)
      return report.fail('PIN pad self-test failed (no key loaded or KSN exhausted): reload the DUKPT initial key');
    report.pass(`PIN pad answers, ${identity.dukpt} DUKPT, next KSN ${identity.ksn}`);
  });
}

/**
 * The fallback for a pad without the codpos extension: the standard display message (Z2)
 * is ACKed by any VeriFone-protocol pad, which shows the pad is there and speaks the
 * protocol; its KSN and key state are only seen in a PIN entry, which diag never starts.
 */
async function diagStandardPinpad(driver: PinpadDriver, report: Report, identifyError: PosError): Promise<void> {
  report.line('identify', `not answered (${identifyError.code}): not a codpos extension pad`);
  try {
    await driver.display('CODPOS DIAG OK');
  } catch (error) {
    if (!(error instanceof PosError)) throw error;
    return report.fail(
      `PIN pad answered neither identify (${identifyError.message}) nor the standard display message (${error.message})`,
    );
  }
  report.line('protocol', 'standard VeriFone (display Z2)');
  report.pass(
    'PIN pad answers the standard display message (it does not know the codpos identify extension, so KSN and self-test were not read; a PIN entry shows whether a key is loaded)',
  );
}

async function diagPrinter(opts: DeviceOptions & { testPage?: boolean }): Promise<void> {
  const { loadConfig } = await load.config();
  const { buildPrinter, loadSimKit } = await load.factory();
  const { config } = loadConfig({ file: opts.config });
  const report = new Report('printer', Boolean(opts.json));
  const settings = settingsFor(config, 'printer', opts);
  const { buildTestPage } = await import('../../../drivers/printer/test-page.js');
  const { blockingReason } = await import('../../../drivers/printer/status.js');
  const device = buildPrinter(
    { ...settings, statusPollMs: Math.min(settings.statusPollMs, 500) },
    { sims: await loadSimKit() },
  );
  await runDiag(device, report, async () => {
    const status = await device.driver.status();
    report.line('status', status);
    const blocked = blockingReason(status);
    if (blocked) return report.fail(`printer reports ${blocked}`);
    if (opts.testPage) {
      device.driver.on('state', (state: { state: string; reason?: string }) => {
        if (state.state === 'held' && !opts.json)
          printLines([`held: ${state.reason} (waiting; fix it or press Ctrl-C)`]);
      });
      const timeoutMs = positive(opts.timeout, 60000, '--timeout');
      await device.driver.print(buildTestPage(device.driver.profile, status), {
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (device.sim) report.line('printed', device.sim.pages.flat());
      return report.pass(`test page printed on ${device.driver.profile.name} paper`);
    }
    report.pass(`printer ready${status.paperNearEnd ? ' (paper near end)' : ''}`);
  });
}
