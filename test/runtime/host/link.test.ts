/**
 * Channel + mux over real TCP on 127.0.0.1: round trips, matching under concurrency,
 * time-outs, late and unmatched answers, responses split at every byte, TPDU checks,
 * reconnects.
 */
import t, { type Test } from 'tap';
import type { Socket } from 'node:net';
import { PosError } from '../../../config/errors.js';
import {
  MTI,
  buildNetworkRequest,
  buildPurchase,
  buildResponse,
  encodeIso8583,
  frameMessage,
  readResponse,
  replyTpdu,
  stanCounter,
  type Frame,
  type IsoMessage,
} from '../../../emv/iso8583/index.js';
import { HostChannel, channelOptionsFromConfig, hostFraming, parseTpdu } from '../../../runtime/host/channel.js';
import { HostMux, outcomeUnknown } from '../../../runtime/host/mux.js';
import { hostDialect } from '../../../runtime/host/dialect.js';
import { TERMINAL, hostConfig, rawAcquirer, startLink, until } from './fixtures.js';

const VISA_PAN = '4761739001010119';

function context(first = 0) {
  return { ...TERMINAL, nextStan: stanCounter(first) };
}

t.test('sign-on and echo round trip through the simulator, answered 00 with the request echoed', async (t) => {
  const link = await startLink();
  t.teardown(() => link.close());
  const ctx = context();
  for (const action of ['sign-on', 'echo'] as const) {
    const request = buildNetworkRequest(action, ctx);
    const response = await link.mux.request(request, 2000);
    const read = readResponse(response, request);
    t.equal(read.mti, MTI.NETWORK_RESPONSE);
    t.equal(read.outcome, 'approved', action);
    t.equal(read.stan, request.fields[11]);
    t.equal(response.fields[70], request.fields[70], 'network code echoed');
  }
  t.same(
    link.sim.received.map((r) => r.mti),
    ['0800', '0800'],
  );
});

t.test(
  'every framing the config offers carries the round trip (len2, len2-tpdu, bcd2, ascii4, length without the TPDU)',
  async (t) => {
    for (const host of [
      { framing: 'len2' },
      { framing: 'len2-tpdu' },
      { framing: 'len2-tpdu', lengthIncludesTpdu: false },
      { framing: 'bcd2' },
      { framing: 'ascii4' },
    ] as const) {
      const link = await startLink({ config: { host } });
      t.teardown(() => link.close()); // also when the request fails: a leaked socket keeps tap waiting
      const request = buildNetworkRequest('echo', context(41));
      t.equal(readResponse(await link.mux.request(request, 2000), request).responseCode, '00', JSON.stringify(host));
    }
  },
);

t.test('concurrent requests are matched on STAN whatever order the host answers in', async (t) => {
  const link = await startLink({ rules: [{ mti: '0200', amount: 100, action: 'late', delayMs: 150 }] });
  t.teardown(() => link.close());
  const ctx = context(10);
  const slow = buildPurchase({ amount: 100, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }, ctx);
  const fast = buildPurchase({ amount: 200, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }, ctx);
  const order: string[] = [];
  const [a, b] = await Promise.all([
    link.mux.request(slow, 3000).then((r) => (order.push('slow'), r)),
    link.mux.request(fast, 3000).then((r) => (order.push('fast'), r)),
  ]);
  t.same(order, ['fast', 'slow'], 'the host answered the second first');
  t.equal(a.fields[11], slow.fields[11]);
  t.equal(a.fields[4], '000000000100');
  t.equal(b.fields[11], fast.fields[11]);
  t.equal(b.fields[4], '000000000200');
  t.equal(link.mux.pending, 0);
});

t.test(
  'no answer is CODPOS_HOST_TIMEOUT (sent: true); the answer arriving later is logged masked and dropped',
  async (t) => {
    const link = await startLink({ rules: [{ mti: '0200', action: 'late', delayMs: 250, times: 1 }] });
    t.teardown(() => link.close());
    const request = buildPurchase(
      { amount: 1500, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' },
      context(20),
    );
    const error = await link.mux.request(request, 60).catch((e: unknown) => e);
    t.ok(error instanceof PosError);
    t.equal((error as PosError).code, 'CODPOS_HOST_TIMEOUT');
    t.equal((error as PosError).area, 'HOST');
    t.equal((error as PosError).details?.sent, true);
    t.ok(outcomeUnknown(error), 'a timed-out request is one to reverse');
    await until(() => link.mux.counters.late === 1, 'the late answer');
    const line = link.log.lines.find((l) => l.msg === 'late host response dropped (its request had timed out)');
    t.ok(line, 'the late answer is logged');
    t.notMatch(link.log.text(), VISA_PAN, 'no full PAN in any log line');
    t.match(JSON.stringify(line), '476173', 'the PAN shows masked (first 6)');
    // The link is still good for the next request.
    const echo = buildNetworkRequest('echo', context(30));
    t.equal(readResponse(await link.mux.request(echo, 2000), echo).responseCode, '00');
  },
);

t.test(
  'a never-answered request times out; a host that drops the connection fails it as disconnected, and the link reconnects',
  async (t) => {
    const link = await startLink({
      rules: [
        { mti: '0200', amount: 1, action: 'silent' },
        { mti: '0200', amount: 2, action: 'drop', times: 1 },
      ],
    });
    t.teardown(() => link.close());
    const ctx = context(50);
    const silent = await link.mux
      .request(buildPurchase({ amount: 1, card: { pan: VISA_PAN }, posEntryMode: '012' }, ctx), 80)
      .catch((e: unknown) => e);
    t.equal((silent as PosError).code, 'CODPOS_HOST_TIMEOUT');

    const dropped = await link.mux
      .request(buildPurchase({ amount: 2, card: { pan: VISA_PAN }, posEntryMode: '012' }, ctx), 3000)
      .catch((e: unknown) => e);
    t.equal((dropped as PosError).code, 'CODPOS_HOST_DISCONNECTED');
    t.equal((dropped as PosError).disconnected, true);
    t.equal((dropped as PosError).details?.sent, true, 'it had left: its outcome is unknown');
    t.ok(outcomeUnknown(dropped));

    const echo = buildNetworkRequest('echo', ctx);
    t.equal(
      readResponse(await link.mux.request(echo, 3000), echo).responseCode,
      '00',
      'the next request goes out on a new connection',
    );
    t.equal(link.channel.connects, 2);
  },
);

t.test(
  'the host closing the connection between requests: the channel reports it and reconnects with backoff',
  async (t) => {
    const link = await startLink();
    t.teardown(() => link.close());
    const lost = new Promise<PosError>((resolve) => link.channel.once('disconnected', resolve));
    link.sim.dropConnections();
    const error = await lost;
    t.equal(error.code, 'CODPOS_HOST_DISCONNECTED');
    t.equal(error.disconnected, true);
    await until(() => link.channel.connected, 'the reconnect');
    t.equal(link.channel.connects, 2);
    const echo = buildNetworkRequest('echo', context(60));
    t.equal(readResponse(await link.mux.request(echo, 2000), echo).responseCode, '00');
  },
);

t.test(
  'no acquirer listening: open() rejects with CODPOS_HOST_CONNECT (disconnected), a request waits and fails disconnected',
  async (t) => {
    const config = hostConfig();
    const spare = await rawAcquirer(hostFraming(config.host), hostDialect(config.host), () => undefined);
    const port = spare.port;
    await spare.close(); // a port nothing listens on
    const channel = new HostChannel(
      channelOptionsFromConfig({ ...config.host, port }, { reconnect: { initialMs: 10, maxMs: 50 } }),
    );
    t.teardown(() => channel.close());
    const error = await channel.open().catch((e: unknown) => e);
    t.equal((error as PosError).code, 'CODPOS_HOST_CONNECT');
    t.equal((error as PosError).disconnected, true);
    const mux = new HostMux(channel, { dialect: hostDialect(config.host) });
    const failed = await mux.request(buildNetworkRequest('echo', context()), 150).catch((e: unknown) => e);
    t.ok(failed instanceof PosError && failed.area === 'HOST', 'a HOST error');
    t.notOk(outcomeUnknown(failed), 'it never left: nothing to reverse');
    mux.detach();
  },
);

/** A raw acquirer answering an echo with a chosen sequence of frames written one at a time. */
async function scriptedLink(
  t: Test,
  write: (
    request: IsoMessage,
    frame: Frame,
    socket: Socket,
    reply: (message: IsoMessage, tpdu?: Frame['tpdu']) => Buffer,
  ) => void,
) {
  const config = hostConfig();
  const dialect = hostDialect(config.host);
  const framing = hostFraming(config.host);
  const acquirer = await rawAcquirer(framing, dialect, (request, frame, socket) =>
    write(request, frame, socket, (message, tpdu = frame.tpdu ? replyTpdu(frame.tpdu) : undefined) =>
      frameMessage(encodeIso8583(message, dialect), framing, tpdu ? { tpdu } : {}),
    ),
  );
  const channel = new HostChannel(channelOptionsFromConfig({ ...config.host, port: acquirer.port }));
  const mux = new HostMux(channel, { dialect });
  await channel.open();
  t.teardown(async () => {
    mux.detach();
    await channel.close();
    await acquirer.close();
  });
  return { mux, channel, config };
}

t.test('a response split at every byte offset still matches its request', async (t) => {
  let split = 0;
  let frameLength = 0;
  const { mux } = await scriptedLink(t, (request, _frame, socket, reply) => {
    const bytes = reply(buildResponse(request, { 39: '00' }));
    frameLength = bytes.length;
    socket.write(bytes.subarray(0, split));
    // A pause between the parts so they arrive as separate reads.
    setTimeout(() => socket.write(bytes.subarray(split)), 2);
  });
  const ctx = context(100);
  for (split = 1; split === 1 || split < frameLength; split++) {
    const request = buildNetworkRequest('echo', ctx);
    const response = await mux.request(request, 2000);
    if (readResponse(response, request).stan !== request.fields[11]) t.fail(`split at ${split}`);
  }
  t.ok(frameLength > 20, `every split of a ${frameLength}-byte frame`);
  t.equal(mux.counters.responses, frameLength - 1);
  t.equal(mux.counters.unmatched, 0);
});

t.test('a response matching no request in flight is logged and dropped; the right one still arrives', async (t) => {
  const { mux } = await scriptedLink(t, (request, _frame, socket, reply) => {
    const stray = buildResponse({ ...request, fields: { ...request.fields, 11: '999999' } }, { 39: '00' });
    const otherTerminal = buildResponse({ ...request, fields: { ...request.fields, 41: 'OTHER001' } }, { 39: '00' });
    const wrongClass = { mti: '0210', fields: buildResponse(request, { 39: '00' }).fields };
    socket.write(
      Buffer.concat([
        reply(stray),
        reply(otherTerminal),
        reply(wrongClass),
        reply(buildResponse(request, { 39: '00' })),
      ]),
    );
  });
  const request = buildNetworkRequest('echo', context(200));
  const response = await mux.request(request, 2000);
  t.equal(response.fields[11], request.fields[11]);
  t.equal(mux.counters.unmatched, 3, 'a stray STAN, another terminal id and another message class are dropped');
});

t.test(
  'a reply whose TPDU does not answer ours is dropped (CODPOS_HOST_BAD_TPDU event), so the request times out',
  async (t) => {
    const { mux, channel, config } = await scriptedLink(t, (request, frame, socket, reply) => {
      socket.write(reply(buildResponse(request, { 39: '00' }), frame.tpdu)); // not swapped
    });
    const events: PosError[] = [];
    channel.on('frame-error', (e: PosError) => events.push(e));
    const error = await mux.request(buildNetworkRequest('echo', context(300)), 150).catch((e: unknown) => e);
    t.equal((error as PosError).code, 'CODPOS_HOST_TIMEOUT');
    // On a stalled event loop the time-out can fire before the reply is read: wait for the frame.
    await until(() => events.length > 0, 'the reply with the wrong TPDU');
    t.equal(events[0]?.code, 'CODPOS_HOST_BAD_TPDU');
    t.equal(channel.droppedFrames, 1);
    t.same(parseTpdu(config.host.tpdu), { id: '60', destination: '0001', source: '0000' });
  },
);

t.test('bad requests are refused before anything is sent', async (t) => {
  const link = await startLink();
  t.teardown(() => link.close());
  const request = buildNetworkRequest('echo', context(400));
  await t.rejects(link.mux.request({ mti: '0810', fields: request.fields }, 1000), { code: 'CODPOS_HOST_BAD_REQUEST' });
  await t.rejects(link.mux.request(request, 0), { code: 'CODPOS_HOST_BAD_REQUEST' });
  const inFlight = link.mux.request(request, 2000);
  await t.rejects(
    link.mux.request(request, 1000),
    { code: 'CODPOS_HOST_BAD_REQUEST' },
    'the same STAN twice in flight',
  );
  await inFlight;
  t.throws(() => parseTpdu('60XX'), { code: 'CODPOS_CONFIG_INVALID' });
});

t.test('a request made while the acquirer is away goes out when it comes back within the time-out', async (t) => {
  const config = hostConfig();
  const dialect = hostDialect(config.host);
  const spare = await rawAcquirer(hostFraming(config.host), dialect, () => undefined);
  const port = spare.port;
  await spare.close();
  const channel = new HostChannel(
    channelOptionsFromConfig({ ...config.host, port }, { reconnect: { initialMs: 20, maxMs: 40 } }),
  );
  const mux = new HostMux(channel, { dialect });
  t.teardown(async () => {
    mux.detach();
    await channel.close();
  });
  await t.rejects(channel.open(), { code: 'CODPOS_HOST_CONNECT' });
  const request = buildNetworkRequest('echo', context(500));
  const answered = mux.request(request, 5000);
  const { AcquirerHostSimulator } = await import('../../../runtime/host/simulator.js');
  const sim = new AcquirerHostSimulator({ dialect, framing: hostFraming(config.host), port });
  await sim.start();
  t.teardown(() => sim.stop());
  t.equal(readResponse(await answered, request).responseCode, '00');
  t.equal(channel.connects, 1);
});

t.test('a length header the link cannot read loses the stream: the connection is dropped and made again', async (t) => {
  const config = hostConfig({ host: { framing: 'bcd2' } });
  const dialect = hostDialect(config.host);
  const framing = hostFraming(config.host);
  let garbage = true;
  const acquirer = await rawAcquirer(framing, dialect, (request, _frame, socket) => {
    if (garbage) {
      garbage = false;
      socket.write(Buffer.from('FFFF0800', 'hex')); // BCD length nibbles above 9
      return;
    }
    socket.write(frameMessage(encodeIso8583(buildResponse(request, { 39: '00' }), dialect), framing));
  });
  const channel = new HostChannel(
    channelOptionsFromConfig({ ...config.host, port: acquirer.port }, { reconnect: { initialMs: 10, maxMs: 20 } }),
  );
  const mux = new HostMux(channel, { dialect });
  t.teardown(async () => {
    mux.detach();
    await channel.close();
    await acquirer.close();
  });
  await channel.open();
  const lost = await mux.request(buildNetworkRequest('echo', context(600)), 2000).catch((e: unknown) => e);
  t.equal((lost as PosError).code, 'CODPOS_HOST_DISCONNECTED');
  t.match((lost as PosError).message, 'cannot read');
  const echo = buildNetworkRequest('echo', context(700));
  t.equal(readResponse(await mux.request(echo, 2000), echo).responseCode, '00');
  t.equal(channel.connects, 2);
});
