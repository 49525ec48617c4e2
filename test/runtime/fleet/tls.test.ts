/**
 * mqtts: the link checks the broker's certificate against the configured CA (the throw-away PKI
 * of test/helpers/test-pki.ts; its server certificate names 127.0.0.1).
 */
import t from 'tap';
import { makeTestPki } from '../../helpers/test-pki.js';
import { fleetBroker, makeLink, mqttClient, PREFIX, until } from './fixtures.js';

t.test('the link connects over TLS to a broker whose certificate chains to its CA', async (t) => {
  const pki = makeTestPki();
  t.teardown(() => pki.remove());
  const broker = await fleetBroker(t, {
    tls: { caFile: pki.caFile, certFile: pki.server.certFile, keyFile: pki.server.keyFile },
  });
  const backend = await mqttClient(t, broker, { subscribe: [`${PREFIX}/t/TERM0001/events`] });
  const link = makeLink(t, broker, { url: broker.tlsUrl!, ca: pki.ca });
  link.start();
  await until(() => link.state === 'connected', 'the TLS connection');
  const event = await link.send('events', 'payment.approved', { over: 'tls' });
  await until(() => backend.received.length > 0, 'the event through the TLS listener');
  t.equal(backend.on(`${PREFIX}/t/TERM0001/events`)[0]?.id, event.id);
});

t.test('a broker certificate from another CA is refused: CODPOS_FLEET_CONNECT, never connected', async (t) => {
  const pki = makeTestPki();
  t.teardown(() => pki.remove());
  const broker = await fleetBroker(t, {
    tls: { caFile: pki.caFile, certFile: pki.foreign.certFile, keyFile: pki.foreign.keyFile },
  });
  const link = makeLink(t, broker, { url: broker.tlsUrl!, ca: pki.ca });
  link.start();
  await until(() => link.stats().lastError !== undefined, 'the refused handshake');
  t.equal(link.stats().lastError?.code, 'CODPOS_FLEET_CONNECT');
  t.match(link.stats().lastError?.message, /certificate/i);
  t.equal(link.stats().connects, 0);
});

t.test(
  'a broker that requires a client certificate takes the terminal with its certificate and refuses it without',
  async (t) => {
    const pki = makeTestPki();
    t.teardown(() => pki.remove());
    const broker = await fleetBroker(t, {
      tls: { caFile: pki.caFile, certFile: pki.server.certFile, keyFile: pki.server.keyFile, requireCertificate: true },
    });
    const without = makeLink(t, broker, { url: broker.tlsUrl!, ca: pki.ca });
    without.start();
    await until(() => without.stats().lastError !== undefined, 'the refused handshake without a certificate');
    t.equal(without.stats().lastError?.code, 'CODPOS_FLEET_CONNECT');
    t.equal(without.stats().connects, 0, 'never connected without its certificate');
    await without.stop();

    const withCertificate = makeLink(t, broker, {
      url: broker.tlsUrl!,
      ca: pki.ca,
      cert: pki.client.cert,
      key: pki.client.key,
    });
    withCertificate.start();
    await until(() => withCertificate.state === 'connected', 'the mutual TLS connection');
    t.equal(withCertificate.stats().connects, 1);
  },
);
