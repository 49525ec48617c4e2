import t from 'tap';
import { spawn } from 'node:child_process';
import { codposBin, readJsonLines, runCodpos } from '../helpers/cli.js';
import { validateConfig } from '../../config/load.js';
import { buildNetworkRequest, buildPurchase, readResponse, stanCounter } from '../../emv/iso8583/index.js';
import { hostDialect } from '../../runtime/host/dialect.js';
import { HostChannel, channelOptionsFromConfig } from '../../runtime/host/channel.js';
import { HostMux } from '../../runtime/host/mux.js';
import { SimFaultDraw } from '../../runtime/host/sim-faults.js';

const VISA_PAN = '4761739001010119';

t.test(
  'sim host: prints its address, answers the link, takes rules on stdin, prints masked exchanges, stops on SIGTERM',
  async (t) => {
    const child = spawn(process.execPath, [codposBin, 'sim', 'host', '--port', '0', '--json'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CODPOS_'))),
    });
    const { lines, next } = readJsonLines(child.stdout);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // A failed step must not leave the simulator running: its pipes would keep tap waiting.
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });

    const start = await next((l) => 'port' in l);
    t.equal(start.address, '127.0.0.1');
    t.equal(start.framing, 'len2-tpdu');
    const config = validateConfig({});
    const dialect = hostDialect(config.host);
    const channel = new HostChannel(channelOptionsFromConfig({ ...config.host, port: Number(start.port) }));
    const mux = new HostMux(channel, { dialect });
    t.teardown(async () => {
      mux.detach();
      await channel.close();
    });
    await channel.open();
    const ctx = {
      terminalId: 'COD00001',
      merchantId: 'CODPOS-MERCHAN',
      currency: '840',
      clock: () => new Date(),
      nextStan: stanCounter(0),
    };

    const echo = buildNetworkRequest('echo', ctx);
    t.equal(readResponse(await mux.request(echo, 5000), echo).responseCode, '00');
    const echoed = await next((l) => l.event === 'exchange' && l.mti === '0800');
    t.same(echoed, {
      event: 'exchange',
      mti: '0800',
      stan: '000001',
      terminalId: 'COD00001',
      answer: '00',
      hasTrack2: false,
      hasPinBlock: false,
      hasIcc: false,
    });

    child.stdin.write('decline from=1000 code=51\n');
    t.same(await next((l) => l.command === 'decline'), {
      ok: true,
      command: 'decline',
      text: 'rule added: decline from=1000 code=51',
    });
    const purchase = buildPurchase({ amount: 2000, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }, ctx);
    t.equal(readResponse(await mux.request(purchase, 5000), purchase).responseCode, '51');
    await next((l) => l.event === 'exchange' && l.mti === '0200');

    child.stdin.write('late now\n');
    const bad = await next((l) => l.ok === false);
    t.equal(bad.error, 'CODPOS_USAGE_BAD_OPTION');
    t.match(bad.message, 'now');

    mux.detach();
    await channel.close();
    child.kill('SIGTERM');
    t.equal(await exited, 0);
    t.notMatch(JSON.stringify(lines), VISA_PAN, 'no full PAN printed');
    t.equal(stderr, '');
  },
);

t.test(
  "sim host --faults --fault-seed: purchases meet the seed's faults; the audit command reports the book",
  async (t) => {
    const child = spawn(
      process.execPath,
      [
        codposBin,
        'sim',
        'host',
        '--port',
        '0',
        '--json',
        '--faults',
        'decline91=0.4,partial=0.4',
        '--fault-seed',
        '3',
        '--late-ms',
        '50',
      ],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CODPOS_'))),
      },
    );
    const { next } = readJsonLines(child.stdout);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const start = await next((l) => 'port' in l);
    t.same(start.faults, { seed: 3, rates: { decline91: 0.4, partial: 0.4 }, lateMs: 50 });
    const config = validateConfig({});
    const channel = new HostChannel(channelOptionsFromConfig({ ...config.host, port: Number(start.port) }));
    const mux = new HostMux(channel, { dialect: hostDialect(config.host) });
    t.teardown(async () => {
      mux.detach();
      await channel.close();
    });
    await channel.open();
    const ctx = {
      terminalId: 'COD00001',
      merchantId: 'CODPOS-MERCHAN',
      currency: '840',
      clock: () => new Date(),
      nextStan: stanCounter(0),
    };
    const expected = new SimFaultDraw({ seed: 3, rates: { decline91: 0.4, partial: 0.4 } });
    let booked = 0;
    let bookedAmount = 0;
    for (let i = 0; i < 8; i++) {
      const purchase = buildPurchase(
        { amount: 1000, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' },
        ctx,
      );
      const response = await mux.request(purchase, 5000);
      const fault = expected.purchase();
      t.equal(
        readResponse(response, purchase).responseCode,
        fault === 'decline91' ? '91' : fault === 'partial' ? '10' : '00',
        `purchase ${i}: ${fault ?? 'no fault'}`,
      );
      const exchange = await next((l) => l.event === 'exchange' && l.stan === purchase.fields[11]);
      t.equal(exchange.fault, fault);
      if (fault !== 'decline91') {
        booked++;
        bookedAmount += fault === 'partial' ? 500 : 1000;
      }
    }
    child.stdin.write('audit tid=COD00001\n');
    const audit = await next((l) => l.command === 'audit');
    t.same(JSON.parse(String(audit.text)), {
      stanReused: [],
      financialBeforeReversal: [],
      unreversed: [],
      book: [{ terminalId: 'COD00001', count: booked, amount: bookedAmount }],
      pruned: 0,
      clean: true,
    });
    mux.detach();
    await channel.close();
    child.kill('SIGTERM');
    t.equal(await exited, 0);
  },
);

t.test(
  'sim host: a bad --port, --faults, --fault-seed or --late-ms is a usage error (exit 2) naming it, without a stack trace',
  async (t) => {
    for (const [args, named] of [
      [['--port', 'eighty'], '--port eighty'],
      [['--faults', 'silent=0.1,boom=0.2'], 'boom'],
      [['--faults', 'late=1.5'], 'late=1.5'],
      [['--faults', 'silent=0.1', '--fault-seed', 'x'], '--fault-seed x'],
      [['--faults', 'silent=0.1', '--late-ms', '-3'], '--late-ms -3'],
      [['--reversal-faults', 'partial=0.1'], 'partial'],
    ] as const) {
      const result = runCodpos(['sim', 'host', '--port', '0', ...args]);
      t.equal(result.status, 2, args.join(' '));
      t.match(result.stderr, named);
      t.notMatch(result.stderr, /\n\s+at /);
    }
  },
);
