/**
 * A terminal paying chip payments one after another until it is killed (the power-cut test
 * SIGKILLs it at a random point). Opens the spool at argv[2] (vault key argv[3]), talks to the
 * acquirer at 127.0.0.1:argv[4], starts as the daemon does (recoverInterrupted, then the queued
 * reversals), and pays with the simulated card reader and PIN pad. It writes one JSON line per
 * payment once payByChip has resolved (what the local API would answer: acknowledged to the
 * courier), and `{"ready":true}` when recovery is done. argv[5] = 'recover' only recovers,
 * sends what is queued and exits. Runs the built code (npm test builds first).
 */
import { FileKeyProvider, Spool, Vault } from '../../../../dist/spool/index.js';
import { validateConfig } from '../../../../dist/config/load.js';
import { hostDialect } from '../../../../dist/runtime/host/dialect.js';
import { HostChannel, channelOptionsFromConfig } from '../../../../dist/runtime/host/channel.js';
import { HostMux } from '../../../../dist/runtime/host/mux.js';
import { HostClient } from '../../../../dist/runtime/host/client.js';
import { VirtualCard, loadCardProfile } from '../../../../dist/emv/card/index.js';
import { payByChip } from '../../../../dist/runtime/payment/card-payment.js';
import { simPayTerminal, openSimPaymentDevices } from '../../../../dist/runtime/payment/sim-pay.js';

const [file, keyFile, port, mode, firstAmount] = process.argv.slice(2);
const config = validateConfig({});
const spool = await Spool.open({ file, vault: await Vault.fromProvider(new FileKeyProvider(keyFile)) });
const channel = new HostChannel(
  channelOptionsFromConfig({ ...config.host, port: Number(port) }, { reconnect: { initialMs: 20, maxMs: 200 } }),
);
const mux = new HostMux(channel, { dialect: hostDialect(config.host) });
await channel.open();
const client = new HostClient({
  mux,
  spool,
  context: { terminalId: 'COD00001', merchantId: 'CODPOS-MERCHAN', currency: '840', clock: () => new Date() },
  responseTimeoutMs: 300,
});
const say = (line) => process.stdout.write(JSON.stringify(line) + '\n');

await client.recoverInterrupted();
// The queued reversals, until the host has them all (it may stay silent to some: repeat).
for (let round = 0; client.pendingReversals() > 0 && round < 50; round++)
  await client.flushPending({ urgent: true }).catch(() => undefined);
if (mode === 'recover') {
  say({ recovered: true, pendingReversals: client.pendingReversals() });
  mux.detach();
  await channel.close();
  spool.close();
  process.exit(0);
}
say({ ready: true });

const devices = await openSimPaymentDevices(config, '1234');
const terminal = { ...simPayTerminal(config), terminalId: 'COD00001', merchantId: 'CODPOS-MERCHANT' };
for (let amount = Number(firstAmount); ; amount++) {
  await devices.readerSim.insert(new VirtualCard(loadCardProfile('visa-dda')));
  const result = await payByChip(
    { card: devices.cardReader, pinpad: devices.pinpad, client, journal: spool.journal, terminal, currency: '840' },
    { amount },
  );
  say({
    amount,
    outcome: result.outcome,
    journalId: result.journalId ?? null,
    approvedOffline: result.approvedOffline,
  });
  await devices.readerSim.remove();
}
