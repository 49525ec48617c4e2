import t from 'tap';
import { Writable } from 'node:stream';
import { createLogger } from '../../runtime/log.js';
import {
  createSystemdNotifier,
  notifyAddress,
  notifyDatagram,
  watchdogIntervalMs,
  type NotifyAddress,
} from '../../runtime/systemd-notify.js';
import { bindFakeNotifySocket } from '../helpers/notify-socket.js';

/** A logger whose JSON lines are kept, to check what was said about failures. */
function capturingLogger(): { log: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ level: 'debug', destination }), lines };
}

t.test('READY=1 with STATUS, STATUS, WATCHDOG=1 and STOPPING=1 reach NOTIFY_SOCKET, one datagram each', async (t) => {
  const socket = bindFakeNotifySocket();
  t.teardown(() => socket.close());
  const { log, lines } = capturingLogger();
  const notifier = createSystemdNotifier({ log, env: { NOTIFY_SOCKET: socket.path } });
  t.teardown(() => notifier.close());
  t.equal(notifier.enabled, true);
  notifier.ready('ready; 0 records to send');
  notifier.status('ready; 3 records to send\nhost up');
  notifier.watchdog();
  notifier.stopping('stopping (SIGTERM)');
  await socket.waitFor(() => true, 4);
  t.same(socket.received, [
    { READY: '1', STATUS: 'ready; 0 records to send' },
    // a newline in a status would start another assignment: it becomes a space
    { STATUS: 'ready; 3 records to send host up' },
    { WATCHDOG: '1' },
    { STOPPING: '1', STATUS: 'stopping (SIGTERM)' },
  ]);
  t.same(lines, [], 'nothing to log when every datagram is delivered');
});

t.test('without NOTIFY_SOCKET (run by hand, in tests) every call is a no-op and no watchdog starts', async (t) => {
  let transports = 0;
  const notifier = createSystemdNotifier({
    log: createLogger({ level: 'silent' }),
    env: { WATCHDOG_USEC: '1000000' },
    transport: () => {
      transports += 1;
      throw new Error('no transport should be made');
    },
  });
  t.equal(notifier.enabled, false);
  notifier.ready('ready');
  notifier.status('x');
  notifier.watchdog();
  notifier.stopping();
  t.equal(notifier.startWatchdog(), undefined, 'no heartbeat timer');
  notifier.close();
  t.equal(transports, 0, 'no socket was even opened');
});

t.test('an abstract "@name" socket is addressed as the abstract name, not a path', async (t) => {
  t.same(notifyAddress('@codpos/notify'), { kind: 'abstract', name: 'codpos/notify' });
  t.same(notifyAddress('/run/systemd/notify'), { kind: 'path', path: '/run/systemd/notify' });
  const addresses: NotifyAddress[] = [];
  const sent: string[] = [];
  const notifier = createSystemdNotifier({
    log: createLogger({ level: 'silent' }),
    env: { NOTIFY_SOCKET: '@codpos/notify' },
    transport: (address) => {
      addresses.push(address);
      return { send: (datagram) => void sent.push(datagram.toString()), close: () => undefined };
    },
  });
  notifier.ready('ready');
  t.same(addresses, [{ kind: 'abstract', name: 'codpos/notify' }]);
  t.same(sent, ['READY=1\nSTATUS=ready']);
});

t.test(
  'an abstract socket with the unix-dgram transport is refused once, with the reason, and nothing is thrown',
  async (t) => {
    const { log, lines } = capturingLogger();
    const notifier = createSystemdNotifier({
      log,
      env: { NOTIFY_SOCKET: '@codpos-test-notify', WATCHDOG_USEC: '100000' },
    });
    t.equal(notifier.enabled, false);
    notifier.ready('ready');
    notifier.watchdog();
    t.equal(notifier.startWatchdog(), undefined);
    t.equal(lines.length, 1);
    t.equal(lines[0]!.msg, 'systemd notify socket unusable; systemd will not hear from the daemon');
    t.match(
      (lines[0]!.err as { message: string }).message,
      /abstract notify socket "@codpos-test-notify" cannot be addressed with unix-dgram 2\.0\.7/,
    );
  },
);

t.test(
  'a socket nobody listens on: the first failure is logged, later ones are not, and nothing is thrown',
  async (t) => {
    const socket = bindFakeNotifySocket();
    const gone = `${socket.path}.gone`;
    socket.close();
    const { log, lines } = capturingLogger();
    const notifier = createSystemdNotifier({ log, env: { NOTIFY_SOCKET: gone } });
    t.teardown(() => notifier.close());
    notifier.ready('ready');
    notifier.watchdog();
    notifier.status('still here');
    t.equal(lines.length, 1, 'one warning for three failed datagrams');
    t.equal(lines[0]!.msg, 'systemd notification not delivered; later failures are not logged');
    t.match(lines[0]!.err, { message: /ENOENT|ECONNREFUSED|-2|-111/ });
  },
);

t.test('a transport that throws is contained like one that reports', async (t) => {
  const { log, lines } = capturingLogger();
  const notifier = createSystemdNotifier({
    log,
    env: { NOTIFY_SOCKET: '/nowhere' },
    transport: () => ({
      send: () => {
        throw new Error('send exploded');
      },
      close: () => undefined,
    }),
  });
  t.doesNotThrow(() => {
    notifier.ready('ready');
    notifier.watchdog();
  });
  t.equal(lines.length, 1);
  t.match(lines[0]!.err, { message: 'send exploded' });
});

t.test('the watchdog interval is half of WATCHDOG_USEC, and only for this process', async (t) => {
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '20000000' }, 42), 10_000);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '400000', WATCHDOG_PID: '42' }, 42), 200);
  t.equal(
    watchdogIntervalMs({ WATCHDOG_USEC: '400000', WATCHDOG_PID: '43' }, 42),
    undefined,
    'asked of another process',
  );
  t.equal(watchdogIntervalMs({}, 42), undefined, 'no watchdog asked for');
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 42), undefined);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 42), undefined);
  t.equal(notifyDatagram({ READY: '1', STATUS: 'a\r\nb' }).toString(), 'READY=1\nSTATUS=a b');
});

t.test('watchdog pings come from an event loop timer, and a blocked loop stops them', async (t) => {
  const socket = bindFakeNotifySocket();
  t.teardown(() => socket.close());
  const notifier = createSystemdNotifier({
    log: createLogger({ level: 'silent' }),
    env: { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '40000' },
  });
  t.teardown(() => notifier.close());
  const intervalMs = notifier.startWatchdog();
  t.equal(intervalMs, 20, 'half of WATCHDOG_USEC');
  const isPing = (n: Record<string, string>) => n.WATCHDOG === '1';
  await socket.waitFor(isPing, 2);

  // Datagrams from one sender arrive in order, so the pings sent while the loop is blocked are
  // exactly those between the two markers: no clock is read to decide it.
  notifier.status('blocking');
  const blockMs = 8 * intervalMs!;
  const start = performance.now();
  while (performance.now() - start < blockMs) {
    // a stuck event loop: no timer can run
  }
  notifier.status('unblocked');
  await socket.waitFor((n) => n.STATUS === 'unblocked');
  const sequence = socket.received.map((n) => (isPing(n) ? 'ping' : n.STATUS));
  const during = sequence.slice(sequence.indexOf('blocking') + 1, sequence.indexOf('unblocked'));
  t.same(
    during,
    [],
    `no ping while the loop was blocked for ${blockMs} ms (${Math.floor(blockMs / intervalMs!)} intervals)`,
  );

  // and once the loop runs again, so do the pings
  const before = socket.received.filter(isPing).length;
  await socket.waitFor(isPing, before + 2);
  t.pass('pings resumed after the block');
});

t.test('after close nothing more is sent (the watchdog timer included) and the socket is closed', async (t) => {
  const socket = bindFakeNotifySocket();
  t.teardown(() => socket.close());
  const sent: string[] = [];
  const notifier = createSystemdNotifier({
    log: createLogger({ level: 'silent' }),
    env: { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '20000' },
    transport: () => ({ send: (datagram) => void sent.push(datagram.toString()), close: () => sent.push('closed') }),
  });
  notifier.startWatchdog();
  while (!sent.includes('WATCHDOG=1')) await new Promise((resolve) => setTimeout(resolve, 5));
  notifier.close();
  const count = sent.length;
  notifier.watchdog();
  t.equal(sent.at(-1), 'closed', 'the transport was closed');
  t.equal(sent.length, count, 'nothing is sent after close');
});
