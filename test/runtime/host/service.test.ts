/** HostService: the daemon's view of the host link, in sim mode and against an acquirer that comes late. */
import t from 'tap';
import { HostService } from '../../../runtime/host/service.js';
import { hostDialect } from '../../../runtime/host/dialect.js';
import { hostFraming } from '../../../runtime/host/channel.js';
import { AcquirerHostSimulator } from '../../../runtime/host/simulator.js';
import { STREAMS } from '../../../spool/index.js';
import { latePort } from '../../helpers/ports.js';
import { capturedLog, hostConfig, tempSpool, until } from './fixtures.js';

const VISA_PAN = '4761739001010119';

t.test(
  "host.mode 'sim': the simulator starts in-process, the link signs on, health is up; stop closes both",
  async (t) => {
    const store = await tempSpool();
    const spool = await store.open();
    t.teardown(() => (spool.close(), store.remove()));
    const { log } = capturedLog();
    const service = new HostService(hostConfig({ host: { mode: 'sim' } }), log, { spool: () => spool });
    t.equal(service.name, 'host');
    await service.start();
    t.same(service.health(), { state: 'up' });
    const sim = service.simulator!;
    t.same(
      sim.received.map((r) => r.mti),
      ['0800'],
      'signed on',
    );
    t.equal((await service.client.network('echo')).responseCode, '00');
    await service.stop();
    t.same(service.health(), { state: 'stopped' });
    t.equal(sim.connections, 0);
    t.throws(() => service.client, { code: 'CODPOS_HOST_NOT_STARTED' });
  },
);

t.test(
  "host.mode 'tcp' with the acquirer away: start succeeds degraded, naming why; when the acquirer appears the link signs on and is up",
  async (t) => {
    const store = await tempSpool();
    const spool = await store.open();
    t.teardown(() => (spool.close(), store.remove()));
    // The acquirer's address, held by the test: connections are dropped until the simulator is there.
    const acquirer = await latePort(t);
    const port = acquirer.port;
    const config = hostConfig({ host: { mode: 'tcp', address: '127.0.0.1', port, connectTimeoutMs: 500 } });
    const { log } = capturedLog();
    const service = new HostService(config, log, { spool: () => spool, reconnect: { initialMs: 20, maxMs: 50 } });
    await service.start();
    t.teardown(() => service.stop());
    const health = service.health();
    t.equal(health.state, 'degraded');
    t.match(health.reason, `127.0.0.1:${port}`);
    const sim = new AcquirerHostSimulator({
      dialect: hostDialect(config.host),
      framing: hostFraming(config.host),
    });
    acquirer.forwardTo((await sim.start()).port);
    t.teardown(() => sim.stop());
    await until(() => service.health().state === 'up', 'the link to come up');
    t.same(
      sim.received.map((r) => r.mti),
      ['0800'],
    );
  },
);

t.test(
  'the background sender forwards a queued reversal without waiting for the next payment; health is degraded meanwhile',
  async (t) => {
    const store = await tempSpool({
      [STREAMS.reversal]: { backoff: { initialMs: 1, maxMs: 1, factor: 1, jitter: 0 } },
    });
    const spool = await store.open();
    t.teardown(() => (spool.close(), store.remove()));
    const { log } = capturedLog();
    // One time-out for every request of the service: short enough for the two silent ones, long
    // enough that a loaded CI machine does not miss the sign-on's and the 0401's answers.
    const service = new HostService(hostConfig({ host: { mode: 'sim', responseTimeoutMs: 1000 } }), log, {
      spool: () => spool,
      sendIntervalMs: 20,
      simRules: [
        { mti: '0200', action: 'silent', times: 1 },
        { mti: '0400', action: 'silent', times: 1 },
      ],
    });
    await service.start();
    t.teardown(() => service.stop());
    await t.rejects(
      service.client.purchase({ amount: 900, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }),
      { code: 'CODPOS_HOST_TIMEOUT' },
    );
    t.equal(service.client.pendingReversals(), 1);
    t.equal(service.health().state, 'degraded');
    t.match(service.health().reason, 'reversal');
    await until(() => service.client.pendingReversals() === 0, 'the sender to forward the reversal');
    t.same(
      service.simulator!.received.map((r) => r.mti),
      ['0800', '0200', '0400', '0401'],
    );
    t.same(service.health(), { state: 'up' });
  },
);

t.test('host.tls: true is refused with a config error naming the setting', async (t) => {
  // The schema refuses it now (a TLS link needs at least host.tls.caFile): test/runtime/host/tls.test.ts has the TLS link.
  t.throws(() => hostConfig({ host: { tls: true } }), {
    code: 'CODPOS_CONFIG_INVALID',
    message: /host\.tls: true alone is not accepted.*caFile/,
  });
});

t.test(
  'at start, a reversal held for an authorization in flight at the last stop is queued and sent after sign-on',
  async (t) => {
    const { buildPurchase, buildReversal } = await import('../../../emv/iso8583/index.js');
    const { HELD_REVERSAL_STREAM, outboxRecordOf } = await import('../../../runtime/host/held-reversals.js');
    const store = await tempSpool();
    const spool = await store.open();
    t.teardown(() => (spool.close(), store.remove()));
    // What the last life left: a pending row and the reversal held for its 0200.
    const txn = spool.journal.begin({ amount: 6100, currency: '840', pan: VISA_PAN });
    const context = {
      terminalId: 'COD00001',
      merchantId: 'CODPOS-MERCHAN',
      currency: '840',
      clock: () => new Date(),
      nextStan: () => txn.stan,
    };
    const held = outboxRecordOf(
      HELD_REVERSAL_STREAM,
      buildReversal(
        buildPurchase({ amount: 6100, card: { pan: VISA_PAN, expiry: '2812' }, posEntryMode: '012' }, context),
        context,
      ),
    );
    held.payload.journalId = txn.id;
    await spool.outbox.enqueue(held.stream, held.payload, { id: held.id, sealed: held.sealed });

    const { log } = capturedLog();
    const service = new HostService(hostConfig({ host: { mode: 'sim' } }), log, { spool: () => spool });
    await service.start();
    t.teardown(() => service.stop());
    await until(() => spool.journal.get(txn.id)!.state === 'reversed', 'the held reversal to be sent and acknowledged');
    t.same(
      service.simulator!.received.map((r) => r.mti),
      ['0800', '0400'],
      'signed on, then the reversal',
    );
    t.equal(
      service.simulator!.received[1]!.original,
      '0200' + String(txn.stan).padStart(6, '0'),
      'of the purchase in flight',
    );
  },
);
