/** RELOADING=1 for a SIGHUP reload (sd_notify(3)): with the monotonic time systemd compares, then READY=1 again. */
import t from 'tap';
import { createLogger } from '../../runtime/log.js';
import { createSystemdNotifier } from '../../runtime/systemd-notify.js';
import { bindFakeNotifySocket } from '../helpers/notify-socket.js';

t.test(
  'reloading() sends RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC, microseconds) and the status',
  async (t) => {
    const socket = bindFakeNotifySocket();
    t.teardown(() => socket.close());
    const notifier = createSystemdNotifier({
      log: createLogger({ level: 'silent' }),
      env: { NOTIFY_SOCKET: socket.path },
    });
    t.teardown(() => notifier.close());
    const before = process.hrtime.bigint() / 1000n;
    notifier.reloading('reloading the config');
    notifier.ready('ready');
    await socket.waitFor(() => true, 2);
    const after = process.hrtime.bigint() / 1000n;
    const [reloading, ready] = socket.received as Array<Record<string, string>>;
    t.match(reloading, { RELOADING: '1', STATUS: 'reloading the config', MONOTONIC_USEC: /^\d+$/ });
    const usec = BigInt(reloading!.MONOTONIC_USEC!);
    t.ok(usec >= before && usec <= after, 'the time of the call, in microseconds of the monotonic clock');
    t.same(ready, { READY: '1', STATUS: 'ready' });
  },
);

t.test('without NOTIFY_SOCKET reloading() does nothing', async (t) => {
  const notifier = createSystemdNotifier({ log: createLogger({ level: 'silent' }), env: {} });
  t.doesNotThrow(() => notifier.reloading());
});
