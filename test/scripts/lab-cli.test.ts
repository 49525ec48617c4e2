/**
 * `codpos lab dukpt|pinblock|kcv` run as the BUILT CLI (build first: `npm run build`,
 * which `npm test` does) print exactly what the vectors expect.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { codposBin, type CliResult } from '../helpers/cli.js';
import { packageRoot } from '../../config/paths.js';
import { aesCmac } from '../../emv/crypto/primitives.js';
import { named, vectors } from '../emv/crypto/vectors.js';

t.setTimeout(120_000);
// Each run is a fresh process (~0.2-0.4 s, mostly startup): run a few subtests at once.
t.jobs = 3;

/** Like test/helpers/cli.ts runCodpos, but asynchronous so parallel subtests overlap. */
function runCodpos(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CODPOS_')));
    const child = spawn(process.execPath, [codposBin, ...args], { cwd: packageRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function json(args: string[]): Promise<Record<string, unknown>> {
  const result = await runCodpos([...args, '--json']);
  if (result.status !== 0) throw new Error(`codpos ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

const tdes = vectors('tdes_dukpt');
const a4Bdk = tdes[0]!.inputs.bdk as string;

for (const v of tdes) {
  t.test(`lab dukpt: ${named(v)}`, async (t) => {
    // The IPEK-only vectors come from the same X9.24-1 A.4 BDK; the tool starts from the BDK.
    const out = (await json(['lab', 'dukpt', '--bdk', v.inputs.bdk ?? a4Bdk, '--ksn', v.inputs.ksn]));
    t.equal(out.algorithm, 'tdes');
    t.equal(out.ksn, v.inputs.ksn);
    if (v.expected.ipek !== undefined) {
      t.equal(out.ipek, v.expected.ipek);
      t.equal(out.ipek_kcv, v.expected.ipek_kcv);
    }
    if (v.inputs.ipek !== undefined) t.equal(out.ipek, v.inputs.ipek);
    if (v.expected.current_key !== undefined) {
      t.equal(out.transaction_key, v.expected.current_key);
      // The printed PIN key, fed back to `lab pinblock encode`, gives the vector's encrypted PIN block.
      const epb = (await json(['lab', 'pinblock', 'encode', '--format', '0', '--pin', v.inputs.pin, '--pan', v.inputs.pan, '--key', out.pin_key as string]));
      t.same(epb, { format: 0, pin_block: v.expected.encrypted_pin_block, encrypted: true });
    }
    if (v.expected.pin_key !== undefined) {
      t.equal(out.pin_key, v.expected.pin_key);
      t.equal(out.mac_key, v.expected.mac_req_key);
    }
    for (const [key, value] of Object.entries(out)) {
      t.match(key, /^[a-z_]+$/, `JSON key ${key} is lowercase with underscores`);
      if (typeof value === 'string' && key !== 'algorithm') t.match(value, /^[0-9A-F]+$/, `${key} is uppercase hex`);
    }
  });
}

const aes = vectors('aes_dukpt');
t.test(`lab dukpt --aes: ${named(aes[0]!)}`, async (t) => {
  const v = aes[0]!;
  const out = (await json(['lab', 'dukpt', '--aes', '--key-type', 'aes128', '--bdk', v.inputs.bdk, '--ksn', `${v.inputs.initial_key_id}00000000`]));
  t.equal(out.initial_key, v.expected.initial_key);
  t.equal(out.key_type, 'aes128');
  t.notOk('pin_key' in out, 'counter 0 names the initial key only');
});

for (const v of aes.filter((x) => x.inputs.ksn !== undefined || x.inputs.ksn_1 !== undefined)) {
  t.test(`lab dukpt --aes: ${named(v)}`, async (t) => {
    const bdk = aes[0]!.inputs.bdk as string; // these vectors start from the initial key of that BDK
    const ksn = (v.inputs.ksn ?? v.inputs.ksn_1) as string;
    const out = (await json(['lab', 'dukpt', '--aes', '--key-type', 'aes128', '--bdk', bdk, '--ksn', ksn]));
    t.equal(out.initial_key, v.inputs.initial_key);
    if (v.expected.transaction_key !== undefined) t.equal(out.transaction_key, v.expected.transaction_key);
    if (v.expected.pin_key_1 !== undefined) {
      t.equal(out.pin_key, v.expected.pin_key_1);
      t.equal(out.mac_key, v.expected.mac_gen_key_1);
      t.equal(out.data_key, v.expected.data_enc_key_1);
      t.equal((await json(['lab', 'dukpt', '--aes', '--bdk', bdk, '--ksn', v.inputs.ksn_2])).pin_key, v.expected.pin_key_2);
    }
  });
}

for (const v of vectors('pin_block_iso9564')) {
  t.test(`lab pinblock: ${named(v)}`, async (t) => {
    const i = v.inputs;
    const e = v.expected;
    if (e.pin_block !== undefined && i.pin !== undefined) {
      t.same((await json(['lab', 'pinblock', 'encode', '--format', '0', '--pin', i.pin, '--pan', i.pan])), { format: 0, pin_block: e.pin_block, encrypted: false });
      // one decode per format is enough to prove the command; each spawn costs ~0.4 s
      if (i.pin.length === 12) t.same((await json(['lab', 'pinblock', 'decode', '--format', '0', '--block', e.pin_block, '--pan', i.pan])), { format: 0, pin: i.pin });
    }
    if (e.pin_block_1 !== undefined) {
      t.equal((await json(['lab', 'pinblock', 'encode', '--format', '1', '--pin', i.pin_1, '--fill', i.fill_1])).pin_block, e.pin_block_1);
      t.equal((await json(['lab', 'pinblock', 'decode', '--format', '1', '--block', e.pin_block_2])).pin, i.pin_2);
    }
    if (i.pin_block !== undefined && e.pin !== undefined) {
      t.same((await json(['lab', 'pinblock', 'decode', '--format', '3', '--block', i.pin_block, '--pan', i.pan])), { format: 3, pin: e.pin });
    }
    if (i.random_fill !== undefined) {
      const key = (i.key ?? i.pin_key) as string;
      t.equal((await json(['lab', 'pinblock', 'encode', '--format', '4', '--pin', i.pin, '--pan', i.pan, '--key', key, '--fill', i.random_fill])).pin_block, e.encrypted_pin_block);
    }
    if (i.encrypted_pin_block !== undefined) {
      t.equal((await json(['lab', 'pinblock', 'decode', '--format', '4', '--block', i.encrypted_pin_block, '--pan', i.pan, '--key', i.key])).pin, e.pin);
    }
    if (e.pin_field_first8 !== undefined) t.pass('field encodings are library-level (test/emv/crypto/pin-block.test.ts)');
  });
}

t.test(`lab kcv: ${named(tdes[0]!)}`, async (t) => {
  t.same((await json(['lab', 'kcv', '--key', tdes[0]!.expected.ipek])), { kcv: tdes[0]!.expected.ipek_kcv });
  const human = await runCodpos(['lab', 'kcv', '--key', tdes[0]!.expected.ipek]);
  t.equal(human.stdout, `KCV  ${tdes[0]!.expected.ipek_kcv}\n`);
  const aesKey = '1273671EA26AC29AFA4D1084127652A1';
  t.same((await json(['lab', 'kcv', '--aes', '--key', aesKey])), { kcv: aesCmac(Buffer.from(aesKey, 'hex'), Buffer.alloc(16)).subarray(0, 3).toString('hex').toUpperCase() });
});

t.test('human output shows the keys with KCVs and the lab warning; help says it prints keys', async (t) => {
  const result = await runCodpos(['lab', 'dukpt', '--bdk', a4Bdk, '--ksn', 'FFFF9876543210E00001']);
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /IPEK\s+6AC292FAA1315B4D858AB3A3D7D5933A\s+KCV AF8C07/);
  t.match(result.stdout, /transaction key\s+042666B49184CFA368DE9628D0397BC9/);
  t.match(result.stdout, /TEST keys only/);
  const help = await runCodpos(['lab', 'dukpt', '--help']);
  t.match(help.stdout, /prints keys, PINs and PIN blocks in clear/);
  t.match((await runCodpos(['--help'])).stdout, /lab\s+DUKPT, PIN block and KCV tools/);
});

t.test('mistakes exit 2 with a line naming the problem, no stack trace', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['lab', 'dukpt', '--bdk', a4Bdk, '--ksn', '123456789012345600000001'], /TDES KSN must be 10 bytes long \(got 12\)/],
    [['lab', 'dukpt', '--aes', '--bdk', a4Bdk, '--ksn', 'FFFF9876543210E00001'], /AES KSN must be 12 bytes long \(got 10\)/],
    [['lab', 'dukpt', '--bdk', a4Bdk, '--ksn', 'FFFF9876543210E00001', '--key-type', 'aes128'], /--key-type applies to AES DUKPT only/],
    [['lab', 'dukpt', '--aes', '--bdk', a4Bdk, '--ksn', '123456789012345600000001', '--key-type', 'aes256'], /BDK must be 32 bytes for key type aes256/],
    [['lab', 'dukpt', '--bdk', a4Bdk, '--ksn', 'FFFF9876543210E007FF'], /11 one-bits/],
    [['lab', 'pinblock', 'encode', '--format', '2', '--pin', '1234', '--pan', '4761739001010119'], /format must be 0, 1, 3 or 4/],
    [['lab', 'pinblock', 'encode', '--format', '0', '--pin', '123', '--pan', '4761739001010119'], /PIN must be 4 to 12 digits long \(got 3\)/],
    [['lab', 'pinblock', 'encode', '--format', '4', '--pin', '1234', '--pan', '4761739001010119'], /format 4 is defined only enciphered/],
    [['lab', 'pinblock', 'decode', '--format', '0', '--block', '041261AAAAEDCBA9', '--pan', '4761739001010119'], /not a valid format 0 PIN block/],
    [['lab', 'dukpt', '--ksn', 'FFFF9876543210E00001'], /required option '--bdk <hex>' not specified/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCodpos(args)));
  for (const [n, [args, message]] of cases.entries()) {
    const result = results[n]!;
    t.equal(result.status, 2, `${args.join(' ')}: exit 2`);
    t.match(result.stderr, message, `${args.join(' ')}: names the problem`);
    t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
    t.notMatch(result.stderr, /4761739001010119/, 'no full PAN');
  }
  const jsonError = await runCodpos(['lab', 'kcv', '--key', '0123', '--json']);
  t.same(JSON.parse(jsonError.stderr), { error: 'CODPOS_CRYPTO_KEY_LENGTH', message: 'key must be 8, 16 or 24 bytes long (got 2)', details: { field: 'key', length: 2 } });
});
