/**
 * The host link over TLS against the acquirer simulator serving TLS, with a PKI made in the
 * test (test/helpers/test-pki.ts): a good chain carries a purchase; an unknown CA, a wrong
 * name, an expired certificate and a pin mismatch each end the handshake with their own code,
 * and a swipe payment is declined "not sent" with nothing reaching the host. Mutual TLS:
 * the simulator requiring a client certificate refuses a channel without one.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PosError } from '../../../config/errors.js';
import type { ConfigInput } from '../../../config/schema.js';
import { VirtualCard, loadCardProfile } from '../../../emv/card/index.js';
import { HostChannel, channelOptionsFromConfig, hostFraming, spkiSha256 } from '../../../runtime/host/channel.js';
import { HostClient } from '../../../runtime/host/client.js';
import { hostDialect } from '../../../runtime/host/dialect.js';
import { HostMux } from '../../../runtime/host/mux.js';
import { AcquirerHostSimulator, type AcquirerSimulatorOptions } from '../../../runtime/host/simulator.js';
import { openSimPaymentDevices } from '../../../runtime/payment/sim-pay.js';
import { FallbackCounter, payBySwipe, type Swipe } from '../../../runtime/payment/swipe-payment.js';
import { makeTestPki, type TestCertificate } from '../../helpers/test-pki.js';
import { HostService } from '../../../runtime/host/service.js';
import { TERMINAL, capturedLog, hostConfig, openSpool, until } from './fixtures.js';

const pki = makeTestPki();
t.teardown(() => pki.remove());

const pinOf = (certificate: TestCertificate) => spkiSha256(Buffer.from(new X509Certificate(certificate.cert).raw));

/** The simulator serving TLS with `served`, and a channel + mux whose `host.tls` is `tls` (files relative to the PKI directory). */
async function tlsLink(
  t: Test,
  served: NonNullable<AcquirerSimulatorOptions['tls']>,
  tls: Exclude<NonNullable<NonNullable<ConfigInput['host']>['tls']>, boolean>,
) {
  const config = hostConfig({ host: { tls } });
  const dialect = hostDialect(config.host);
  const log = capturedLog();
  const sim = new AcquirerHostSimulator({
    dialect,
    framing: hostFraming(config.host),
    pinBdk: config.devices.pinpad.sim.bdk,
    pinDukpt: config.devices.pinpad.dukpt,
    tls: served,
  });
  const { port } = await sim.start();
  const channel = new HostChannel(
    channelOptionsFromConfig(
      { ...config.host, address: '127.0.0.1', port },
      { dataDir: pki.dir, log: log.log, reconnect: { initialMs: 20, maxMs: 200 } },
    ),
  );
  const mux = new HostMux(channel, { dialect, log: log.log });
  t.teardown(async () => {
    mux.detach();
    await channel.close();
    await sim.stop();
  });
  return { config, sim, channel, mux, log };
}

/** A stripe-only card swiped through the real reader driver and paid through payBySwipe on `mux`. */
async function swipePayment(t: Test, link: Awaited<ReturnType<typeof tlsLink>>, responseTimeoutMs: number) {
  const spool = await openSpool(t);
  const sims = await openSimPaymentDevices(link.config, '1234');
  t.teardown(() => sims.close());
  const read = once(sims.cardReader, 'swipe') as Promise<[Swipe]>;
  await sims.readerSim.swipe(new VirtualCard(loadCardProfile('magstripe-only')));
  const [swipe] = await read;
  const result = await payBySwipe(
    {
      fallbacks: new FallbackCounter(),
      pinpad: sims.pinpad,
      client: new HostClient({ mux: link.mux, spool, context: TERMINAL, responseTimeoutMs }),
      journal: spool.journal,
      currency: '840',
      clock: TERMINAL.clock,
    },
    { amount: 1800 },
    swipe,
  );
  return { result, row: result.journalId === undefined ? undefined : spool.journal.get(result.journalId) };
}

const servedBy = (certificate: TestCertificate) => ({ key: certificate.key, cert: certificate.cert });

t.test(
  'a good chain (CA bundle, name acquirer.test, pinned key): the link comes up and a swipe purchase is approved',
  async (t) => {
    const link = await tlsLink(t, servedBy(pki.server), {
      caFile: 'ca.pem',
      serverName: 'acquirer.test',
      pinSha256: [pinOf(pki.foreign), pinOf(pki.server)],
    });
    await link.channel.open();
    t.ok(link.channel.connected);
    const { result } = await swipePayment(t, link, 10_000);
    t.match(result, { outcome: 'approved', responseCode: '00' });
    t.same(
      link.sim.received.map((r) => r.mti),
      ['0200'],
    );
  },
);

t.test('the name defaults to host.address: 127.0.0.1 is in the certificate as an IP SAN', async (t) => {
  const link = await tlsLink(t, servedBy(pki.server), { caFile: `${pki.dir}/ca.pem` });
  await link.channel.open();
  t.ok(link.channel.connected);
});

const failures: Array<{
  name: string;
  served: TestCertificate;
  tls: { serverName: string; pinSha256?: string[] };
  code: string;
  message: RegExp;
}> = [
  {
    name: 'a certificate from a CA not in the bundle',
    served: pki.foreign,
    tls: { serverName: 'acquirer.test' },
    code: 'CODPOS_HOST_TLS_UNTRUSTED',
    message: /UNABLE_TO_VERIFY_LEAF_SIGNATURE|does not chain to a CA of host\.tls\.caFile/,
  },
  {
    name: 'a certificate for another name',
    served: pki.server,
    tls: { serverName: 'other-acquirer.test' },
    code: 'CODPOS_HOST_TLS_NAME',
    message: /ERR_TLS_CERT_ALTNAME_INVALID.*other-acquirer\.test|other-acquirer\.test.*ERR_TLS_CERT_ALTNAME_INVALID/,
  },
  {
    name: 'an expired certificate',
    served: pki.expired,
    tls: { serverName: 'acquirer.test' },
    code: 'CODPOS_HOST_TLS_EXPIRED',
    message: /CERT_HAS_EXPIRED/,
  },
  {
    name: 'a key that matches no pin',
    served: pki.server,
    tls: { serverName: 'acquirer.test', pinSha256: [pinOf(pki.foreign)] },
    code: 'CODPOS_HOST_TLS_PIN',
    message: new RegExp(
      `sha256/${pinOf(pki.server).replace(/[+/]/g, '\\$&')} matches none of host\\.tls\\.pinSha256 \\(${pinOf(pki.foreign).replace(/[+/]/g, '\\$&')}\\)`,
    ),
  },
];

for (const failure of failures) {
  t.test(
    `${failure.name}: ${failure.code}, and a payment fails "not sent" (journal: declined) with nothing reaching the host`,
    async (t) => {
      const link = await tlsLink(t, servedBy(failure.served), { caFile: 'ca.pem', ...failure.tls });
      const error = (await link.channel.open().then(
        () => undefined,
        (e: unknown) => e,
      )) as PosError | undefined;
      t.match(error, { code: failure.code, disconnected: true, message: failure.message });
      t.notOk(link.channel.connected);
      const { result, row } = await swipePayment(t, link, 500);
      t.match(result, { outcome: 'failed', reason: /^not sent \(TLS to the acquirer/ });
      t.match(row, { state: 'declined', reason: /^not sent: TLS to the acquirer/ });
      t.match(row?.reason, failure.message, 'the journal says which check failed');
      t.equal(link.sim.received.length, 0, 'the host received no request');
      t.equal(link.sim.connections, 0, 'no TLS session reached the simulator');
      t.ok(
        link.log.lines.some((line) => line.code === failure.code && line.msg === 'host link TLS handshake failed'),
        'the failure is logged with its code',
      );
    },
  );
}

t.test(
  'mutual TLS: a simulator requiring a client certificate refuses a channel without one and accepts one with it',
  async (t) => {
    const served = { ...servedBy(pki.server), ca: pki.ca, requestCert: true };
    const without = await tlsLink(t, served, { caFile: 'ca.pem', serverName: 'acquirer.test' });
    // TLS 1.2 refuses during the handshake; TLS 1.3 just after the client's side of it is done.
    const refusal = (await without.channel.open().then(
      async () => ((await once(without.channel, 'disconnected')) as [PosError])[0],
      (e: unknown) => e,
    )) as PosError;
    t.match(refusal, {
      code: 'CODPOS_HOST_TLS_HANDSHAKE',
      disconnected: true,
      message: /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|certificate/i,
    });
    t.equal(without.sim.connections, 0, 'the simulator served no session');

    const withCert = await tlsLink(t, served, {
      caFile: 'ca.pem',
      serverName: 'acquirer.test',
      certFile: 'client.pem',
      keyFile: 'client.key',
    });
    await withCert.channel.open();
    const { result } = await swipePayment(t, withCert, 10_000);
    t.match(result, { outcome: 'approved' });
    t.equal(withCert.sim.received.length, 1);
  },
);

t.test(
  'the TLS files are read when the channel is built: a missing one is a config error naming the setting; credential:NAME reads $CREDENTIALS_DIRECTORY/NAME',
  async (t) => {
    const missing = hostConfig({ host: { tls: { caFile: 'missing-ca.pem' } } });
    t.throws(() => channelOptionsFromConfig(missing.host, { dataDir: pki.dir }), {
      code: 'CODPOS_CONFIG_INVALID',
      message: /^host\.tls\.caFile: cannot read .*missing-ca\.pem \(ENOENT\)/,
    });

    const credentials = mkdtempSync(join(tmpdir(), 'codpos-credentials-'));
    t.teardown(() => rmSync(credentials, { recursive: true, force: true }));
    writeFileSync(join(credentials, 'terminal-key'), pki.client.key);
    const fromCredential = hostConfig({
      host: { tls: { caFile: 'ca.pem', certFile: 'client.pem', keyFile: 'credential:terminal-key' } },
    });
    const tls = channelOptionsFromConfig(fromCredential.host, {
      dataDir: pki.dir,
      env: { CREDENTIALS_DIRECTORY: credentials },
    }).tls;
    t.equal(tls?.key?.toString('utf8'), pki.client.key, 'the key came from the credentials directory');
    t.equal(tls?.ca.toString('utf8'), pki.ca, 'the CA bundle came from data.dir');
    t.equal(tls?.serverName, '127.0.0.1', 'the name defaults to host.address');
    t.throws(() => channelOptionsFromConfig(fromCredential.host, { dataDir: pki.dir, env: {} }), {
      code: 'CODPOS_CONFIG_INVALID',
      message: /^host\.tls\.keyFile: credential:terminal-key: CREDENTIALS_DIRECTORY is not set/,
    });
  },
);

t.test(
  'the host link service (tcp mode) dials TLS with files relative to data.dir: it signs on over TLS and is up',
  async (t) => {
    const config = hostConfig({
      data: { dir: pki.dir },
      host: { mode: 'tcp', tls: { caFile: 'ca.pem', serverName: 'acquirer.test' } },
    });
    const sim = new AcquirerHostSimulator({
      dialect: hostDialect(config.host),
      framing: hostFraming(config.host),
      tls: servedBy(pki.server),
    });
    const { port } = await sim.start();
    t.teardown(() => sim.stop());
    const spool = await openSpool(t);
    const service = new HostService(
      { ...config, host: { ...config.host, address: '127.0.0.1', port } },
      capturedLog().log,
      { spool: () => spool, reconnect: { initialMs: 20, maxMs: 200 } },
    );
    await service.start();
    t.teardown(() => service.stop());
    await until(() => service.health().state === 'up', 'the TLS link to come up');
    t.same(
      sim.received.map((r) => r.mti),
      ['0800'],
      'the sign-on reached the simulator through TLS',
    );
  },
);
