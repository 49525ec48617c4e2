/**
 * A terminal that stops with an authorization in flight: opens the spool at argv[2] (vault
 * key argv[3]), journals a purchase and sends it to the acquirer at 127.0.0.1:argv[4],
 * which is told not to answer. The test kills this process (SIGKILL, like a power cut)
 * once the acquirer has the request. Runs the built code (npm test builds first).
 */
import { FileKeyProvider, Spool, Vault } from '../../../../dist/spool/index.js';
import { validateConfig } from '../../../../dist/config/load.js';
import { hostDialect } from '../../../../dist/runtime/host/dialect.js';
import { HostChannel, channelOptionsFromConfig } from '../../../../dist/runtime/host/channel.js';
import { HostMux } from '../../../../dist/runtime/host/mux.js';
import { HostClient } from '../../../../dist/runtime/host/client.js';

const [file, keyFile, port] = process.argv.slice(2);
const config = validateConfig({});
const spool = await Spool.open({ file, vault: await Vault.fromProvider(new FileKeyProvider(keyFile)) });
const channel = new HostChannel(channelOptionsFromConfig({ ...config.host, port: Number(port) }));
const mux = new HostMux(channel, { dialect: hostDialect(config.host) });
await channel.open();
const client = new HostClient({
  mux,
  spool,
  context: {
    terminalId: 'COD00001',
    merchantId: 'CODPOS-MERCHAN',
    currency: '840',
    clock: () => new Date('2026-11-29T10:15:00Z'),
  },
  responseTimeoutMs: 600_000,
});
const txn = spool.journal.begin({
  amount: 7300,
  currency: '840',
  pan: '4761739001010119',
  sensitive: { pinBlock: '0123456789ABCDEF', ksn: 'FFFF9876543210E00001' },
});
process.stdout.write(JSON.stringify({ journalId: txn.id, stan: txn.stan }) + '\n');
await client.purchase({
  amount: 7300,
  card: { pan: '4761739001010119', expiry: '2812' },
  posEntryMode: '012',
  journal: { id: txn.id, stan: txn.stan },
});
