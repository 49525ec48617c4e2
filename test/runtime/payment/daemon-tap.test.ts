/**
 * A tap payment through the real daemon (the codposd bundle, test/helpers/cli.ts):
 * `codposd --sim`, POST /v1/payments/card, the card tapped on the simulated
 * reader through /v1/sim/card while the payment waits, the answer approved with entry
 * contactless, the in-process acquirer simulator's decision read from its debug log line (the
 * ARQC verified), and the receipt on the simulated printer saying CONTACTLESS. Then, on the
 * daemon built in this process as codposd --sim builds it (daemon-fixtures.ts): a tapped card
 * that asks for its chip, and taps disabled; and the payment service on the sim-pay stack: two
 * cards in the field at once.
 * Run `npm run build` first.
 */
import t, { type Test } from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { readJsonLines, startCodposd, waitForLogLine, type JsonLine } from '../../helpers/cli.js';
import { call, follow, startDaemon } from '../daemon-fixtures.js';
import { validateConfig } from '../../../config/load.js';
import type { BuiltDevices } from '../../../drivers/factory.js';
import { virtualContactlessCard } from '../../../emv/card/contactless-cards.js';
import { EventBus } from '../../../runtime/api/events.js';
import { createLogger } from '../../../runtime/log.js';
import { PaymentService } from '../../../runtime/payment/service.js';
import { openSimPayStack } from '../../../runtime/payment/sim-pay.js';

const VISA_PAN = '4761739001010119';

function started(t: Test, env: NodeJS.ProcessEnv): ChildProcess {
  const daemon = startCodposd(['--sim'], { env });
  t.teardown(() => {
    if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
  });
  return daemon;
}

async function tapDaemon(t: Test): Promise<{ socketPath: string; log: ReturnType<typeof readJsonLines> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'codpos-tap-'));
  const daemon = started(t, { CODPOS_DATA__DIR: dataDir, CODPOS_LOG__LEVEL: 'debug' });
  const log = readJsonLines(daemon.stdout!);
  await waitForLogLine(daemon, 'ready');
  return { socketPath: join(dataDir, 'codposd.sock'), log };
}

/** The acquirer simulator's decisions on purchases (0200), as it logged them. */
function purchases(lines: JsonLine[]): Array<Record<string, unknown>> {
  return lines
    .filter((line) => line.msg === 'acquirer simulator: answered')
    .map((line) => line.exchange as Record<string, unknown>)
    .filter((exchange) => exchange.mti === '0200');
}

t.test(
  'codposd --sim: a Visa-style card tapped while the payment waits is approved online, contactless, ARQC verified',
  async (t) => {
    const { socketPath, log } = await tapDaemon(t);
    const events = follow(socketPath);
    t.teardown(() => events.close());
    // 25.00: above the combination's floor limit (0, online), under its CVM limit (50.00: no PIN).
    const paying = call(socketPath, 'POST', '/v1/payments/card', { amount: 2500 });
    await events.until('payment.waiting-card');
    t.match(
      events.text(),
      /event: payment\.waiting-card\ndata: \{[^\n]*"tap":true/,
      'the screen is told a tap is taken',
    );
    t.match(await call(socketPath, 'POST', '/v1/sim/card', { action: 'tap', card: 'cl-visa-fdda' }), { status: 200 });
    const paid = await paying;
    t.equal(paid.status, 200);
    t.match(paid.json, {
      outcome: 'approved',
      entry: 'contactless',
      approvedOffline: false,
      responseCode: '00',
      receiptPrinted: true,
      receipt: { panLast4: '0119' },
    });
    const order = events.types().filter((type) => type.startsWith('payment.'));
    t.same(order, ['payment.started', 'payment.waiting-card', 'payment.tap-detected', 'payment.approved']);

    const decided = await log.next((line) => line.msg === 'acquirer simulator: answered');
    t.ok(decided, 'the acquirer simulator logged its decision');
    t.match(purchases(log.lines), [{ mti: '0200', entryMode: '071', hasIcc: true, arqc: 'verified', answer: '00' }]);

    const pages = (await call(socketPath, 'GET', '/v1/sim/printer')).json.pages as string[][];
    const receipt = pages.flat();
    t.ok(
      receipt.some((line) => /CONTACTLESS/.test(line)),
      'the receipt says CONTACTLESS',
    );
    t.ok(
      receipt.some((line) => line.includes('**** 0119')),
      'the receipt names the last four digits',
    );
    t.notMatch(JSON.stringify(pages), VISA_PAN, 'no PAN on the receipt');
    t.notMatch(events.text(), VISA_PAN, 'no PAN on the event stream');
    t.notMatch(JSON.stringify(log.lines), VISA_PAN, 'no PAN in the log');
  },
);

t.test(
  'a tapped card that asks for its chip is asked to be inserted within the same wait: the field off, paid by chip',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const events = follow(socketPath);
    t.teardown(() => events.close());
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    const paying = call(socketPath, 'POST', '/v1/payments/card', { amount: 2500 });
    await events.until('payment.waiting-card');
    t.match(await call(socketPath, 'POST', '/v1/sim/card', { action: 'tap', card: 'cl-visa-contact' }), {
      status: 200,
    });
    await events.until('payment.use-chip');
    t.match(events.text(), /event: payment\.use-chip\ndata: \{[^\n]*"from":"tap"[^\n]*"reason":"[^"]*insert the card/);
    // The reader refuses to power the chip while the field is on: this insert is paid only if the field went off.
    t.match(await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' }), { status: 200 });
    const paid = await paying;
    t.match(paid.json, { outcome: 'approved', entry: 'chip', responseCode: '00', receipt: { panLast4: '0119' } });
    const order = events.types().filter((type) => type.startsWith('payment.') || type === 'pin.requested');
    t.same(order, [
      'payment.started',
      'payment.waiting-card',
      'payment.tap-detected',
      'payment.use-chip',
      'payment.waiting-card',
      'pin.requested',
      'payment.approved',
    ]);
    t.match(
      events.text(),
      /event: payment\.use-chip[\s\S]*event: payment\.waiting-card\ndata: \{[^\n]*"tap":false/,
      'no second tap: the chip is asked for',
    );
  },
);

t.test(
  'with taps disabled the field is not polled: the screen is told insert or swipe, and an insert pays',
  async (t) => {
    const { socketPath } = await startDaemon(t, { emv: { contactless: { enabled: false } } });
    const events = follow(socketPath);
    t.teardown(() => events.close());
    await call(socketPath, 'POST', '/v1/sim/pinpad', { pin: '1234' });
    const paying = call(socketPath, 'POST', '/v1/payments/card', { amount: 2500 });
    await events.until('payment.waiting-card');
    t.match(events.text(), /event: payment\.waiting-card\ndata: \{[^\n]*"tap":false/);
    await call(socketPath, 'POST', '/v1/sim/card', { action: 'insert', card: 'visa-dda' });
    t.match((await paying).json, { outcome: 'approved', entry: 'chip' });
  },
);

t.test(
  'two cards in the field while the payment waits: the reader says present one card; one card then pays',
  async (t) => {
    const config = validateConfig({});
    const stack = await openSimPayStack(config, '1234');
    t.teardown(() => stack.close());
    const { cardReader, pinpad, readerSim } = stack.devices;
    const devices = { cardReader: { driver: cardReader }, pinpad: { driver: pinpad } } as unknown as BuiltDevices;
    const events = new EventBus();
    const published: string[] = [];
    events.subscribe((event) => published.push(event.type));
    const service = new PaymentService(config, createLogger({ level: 'silent' }), {
      devices: () => devices,
      host: () => stack.client,
      spool: () => stack.spool,
      events,
    });
    await service.start();
    t.teardown(() => service.stop());
    const paying = service.pay({ amount: 2500 });
    await readerSim.tapTwo(virtualContactlessCard('cl-visa-fdda'), virtualContactlessCard('cl-mc-cda-rrp'));
    for (let i = 0; i < 2000 && !readerSim.indications.some((shown) => shown.beep === 'alert'); i++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    t.match(readerSim.indications, [{ status: 'ready-to-read', beep: 'alert' }], 'present one card');
    t.notOk(published.includes('payment.tap-detected'), 'neither card was read');
    await readerSim.removeFromField();
    await readerSim.tap(virtualContactlessCard('cl-visa-fdda'));
    const paid = await paying;
    t.match(paid, { outcome: 'approved', entry: 'contactless', responseCode: '00', receipt: { panLast4: '0119' } });
    t.match(stack.sim.received, [{ mti: '0200', entryMode: '071', arqc: 'verified' }]);
    t.notOk(readerSim.fieldIsOn, 'the field is off once the payment ended');
  },
);
