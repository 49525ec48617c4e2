/**
 * `codpos sim psp` as a process: it prints its URL, answers a signed request from the PSP
 * client, takes console commands (a behaviour, a consumer code, the wallet paying, the order
 * list), stops on SIGTERM, and refuses bad options naming them.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codposBin, readJsonLines, runCodpos, type JsonLine } from '../helpers/cli.js';
import { isPosError } from '../../config/errors.js';
import { HttpPspClient } from '../../runtime/psp/client.js';
import { ecdsaSigner, hmacSigner } from '../../runtime/psp/signing.js';

const SECRET = 'the secret the terminal and the PSP simulator share';

function secretFile(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-sim-psp-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'psp.secret');
  writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
  return file;
}

const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CODPOS_')));

t.test('starts, prints its URL, answers signed requests, takes commands, stops on SIGTERM', async (t) => {
  const child = spawn(
    process.execPath,
    [
      codposBin,
      'sim',
      'psp',
      '--json',
      '--listen',
      '127.0.0.1:0',
      '--secret-file',
      secretFile(t),
      '--merchant',
      'M1',
      '--terminal',
      'T1',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'], env: cleanEnv() },
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const { lines, next } = readJsonLines(child.stdout);
  const start = await next((l) => 'url' in l);
  t.match(start, { url: /^http:\/\/127\.0\.0\.1:[0-9]+$/, scheme: 'hmac-sha256', merchantId: 'M1', terminalId: 'T1' });
  const ask = async (command: string): Promise<JsonLine> => {
    const from = lines.length;
    child.stdin.write(`${command}\n`);
    return next((l) => lines.indexOf(l) >= from && 'ok' in l);
  };

  const client = new HttpPspClient({
    url: String(start.url),
    merchantId: 'M1',
    terminalId: 'T1',
    signer: hmacSigner(Buffer.from(SECRET)),
  });
  t.teardown(() => client.close());
  t.match(
    await client.createOrder({ orderRef: 'cli-1', amount: 500, currency: '978', waybill: 'W1', terminalLabel: 'T1' }),
    {
      orderRef: 'cli-1',
      status: 'created',
    },
  );
  t.match(await next((l) => l.event === 'request'), { method: 'POST', path: '/v1/orders', status: 201 });
  t.match(await ask('pay cli-1'), { ok: true, text: /"outcome":"paid"/ });
  t.equal((await client.query('cli-1')).status, 'paid');

  t.match(await ask('next decline'), { ok: true, text: 'the next order: decline' });
  const code = String((await ask('code token pay')).text);
  t.match(code, /^SIMWALLET[0-9]{20}$/);
  const consumer = await client.payWithConsumerCode({
    orderRef: 'cli-2',
    amount: 700,
    currency: '978',
    waybill: 'W2',
    terminalLabel: 'T1',
    consumerCode: code,
  });
  t.match(consumer, { status: 'declined', declineReason: /PSP/ }, 'the behaviour set on the console applied');
  const orders = JSON.parse(String((await ask('orders')).text)) as { orderRef: string; status: string }[];
  t.same(
    orders.map((o) => [o.orderRef, o.status]),
    [
      ['cli-1', 'paid'],
      ['cli-2', 'declined'],
    ],
  );
  t.match(await ask('next explode'), { ok: false, error: 'CODPOS_USAGE_BAD_OPTION' });

  const wrong = new HttpPspClient({
    url: String(start.url),
    merchantId: 'M1',
    terminalId: 'T1',
    signer: hmacSigner(Buffer.from('another secret, not the shared one')),
  });
  t.teardown(() => wrong.close());
  await wrong.query('cli-1').then(
    () => t.fail('a request signed with another secret was answered'),
    (error: unknown) => t.ok(isPosError(error, 'CODPOS_PSP_REFUSED')),
  );

  child.kill('SIGTERM');
  t.equal(await exited, 0);
});

t.test('ECDSA: --ecdsa-key and --terminal-public-key; the client with the matching keys is answered', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'codpos-sim-psp-ecdsa-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const terminal = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const psp = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(join(dir, 'psp.key'), psp.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(dir, 'terminal.pub'), terminal.publicKey.export({ type: 'spki', format: 'pem' }));
  const child = spawn(
    process.execPath,
    [
      codposBin,
      'sim',
      'psp',
      '--json',
      '--ecdsa-key',
      join(dir, 'psp.key'),
      '--terminal-public-key',
      join(dir, 'terminal.pub'),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'], env: cleanEnv() },
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const { next } = readJsonLines(child.stdout);
  const start = await next((l) => 'url' in l);
  t.match(start, { scheme: 'ecdsa-p256', merchantId: 'SIMMERCHANT', terminalId: 'CODPOS01' });
  const client = new HttpPspClient({
    url: String(start.url),
    merchantId: 'SIMMERCHANT',
    terminalId: 'CODPOS01',
    signer: ecdsaSigner(terminal.privateKey, psp.publicKey),
  });
  t.teardown(() => client.close());
  await client.query('none').then(
    () => t.fail('an order that was never created'),
    (error: unknown) => t.ok(isPosError(error, 'CODPOS_PSP_UNKNOWN_ORDER'), 'a signed 404, verified with the PSP key'),
  );
  child.kill('SIGTERM');
  t.equal(await exited, 0);
});

t.test('refuses bad options, naming them', async (t) => {
  const noKey = runCodpos(['sim', 'psp', '--json']);
  t.equal(noKey.status, 2);
  t.match(noKey.stdout + noKey.stderr, /--secret-file/);
  const badListen = runCodpos(['sim', 'psp', '--json', '--secret-file', secretFile(t), '--listen', 'nowhere']);
  t.equal(badListen.status, 2);
  t.match(badListen.stdout + badListen.stderr, /--listen/);
  const missing = runCodpos(['sim', 'psp', '--json', '--secret-file', '/nonexistent/psp.secret']);
  t.equal(missing.status, 2);
  t.match(missing.stdout + missing.stderr, /cannot read \/nonexistent\/psp.secret/);
  const halfEcdsa = runCodpos(['sim', 'psp', '--json', '--ecdsa-key', '/nonexistent/psp.key']);
  t.equal(halfEcdsa.status, 2);
  t.match(halfEcdsa.stdout + halfEcdsa.stderr, /--ecdsa-key and --terminal-public-key go together/);
});
