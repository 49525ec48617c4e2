/**
 * `codpos lab dukpt|pinblock|kcv` run as the BUILT CLI (build first: `npm run build`,
 * which `npm test` does) print exactly what the vectors expect.
 *
 * A process start costs far more than a command, so each vector family runs in ONE
 * process: a small driver re-imports the built `codpos` bin (its launcher, dist/cli/codpos.js) once
 * per command line (a fresh module instance each time, so `main(process.argv)` runs from
 * the top with that line) and captures what it writes and its exit code. A few real
 * process spawns remain, and one of them checks that a spawned process and the driver
 * print the same bytes and exit the same way.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { codposBin, type CliResult } from '../helpers/cli.js';
import { packageRoot } from '../../config/paths.js';
import { named, vectors } from '../emv/crypto/vectors.js';

t.jobs = 3;

/** Node's arguments and stdin for one child; resolves with what it printed and its status. */
function runNode(args: string[], input = ''): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CODPOS_')));
    const child = spawn(process.execPath, args, { cwd: packageRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** `codpos ARGS` as its own process (like test/helpers/cli.ts runCodpos, but asynchronous). */
const runCodpos = (args: string[]): Promise<CliResult> => runNode([codposBin, ...args]);

/**
 * Runs each command line through the built entry point in one process. The driver reads
 * the command lines as JSON on stdin and prints one JSON array of {status, stdout, stderr}.
 */
const DRIVER = `
import { pathToFileURL } from 'node:url';
const bin = process.argv[1];
let input = '';
for await (const chunk of process.stdin) input += chunk;
const write = { out: process.stdout.write, err: process.stderr.write };
const results = [];
for (const [n, args] of JSON.parse(input).entries()) {
  let stdout = '';
  let stderr = '';
  process.stdout.write = (chunk) => ((stdout += chunk), true);
  process.stderr.write = (chunk) => ((stderr += chunk), true);
  process.argv = [process.execPath, bin, ...args];
  process.exitCode = undefined;
  try {
    await import(pathToFileURL(bin).href + '?line=' + n);
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
  results.push({ status: process.exitCode ?? 0, stdout, stderr });
}
process.exitCode = 0;
process.stdout.write(JSON.stringify(results));
`;

async function runCodposLines(lines: string[][]): Promise<CliResult[]> {
  const driver = await runNode(['--input-type=module', '-e', DRIVER, codposBin], JSON.stringify(lines));
  if (driver.status !== 0) throw new Error(`lab driver exited ${driver.status}: ${driver.stderr}`);
  const results = JSON.parse(driver.stdout) as CliResult[];
  if (results.length !== lines.length)
    throw new Error(`lab driver ran ${results.length} of ${lines.length} command lines`);
  return results;
}

/** Each line with --json in one process; every one must succeed and print one JSON object. */
async function jsonLines(lines: string[][]): Promise<Array<Record<string, unknown>>> {
  const results = await runCodposLines(lines.map((args) => [...args, '--json']));
  return results.map((result, n) => {
    if (result.status !== 0) throw new Error(`codpos ${lines[n]!.join(' ')} exited ${result.status}: ${result.stderr}`);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  });
}

const tdes = vectors('tdes_dukpt');
const a4Bdk = tdes[0]!.inputs.bdk as string;

t.test('lab dukpt (TDES), one process for every vector, one more for the PIN blocks', async (t) => {
  // The IPEK-only vectors come from the same X9.24-1 A.4 BDK; the tool starts from the BDK.
  const outs = await jsonLines(
    tdes.map((v) => ['lab', 'dukpt', '--bdk', v.inputs.bdk ?? a4Bdk, '--ksn', v.inputs.ksn]),
  );
  // The printed PIN key, fed back to `lab pinblock encode`, gives the vector's encrypted PIN block.
  const withPinBlock = tdes.flatMap((v, n) =>
    v.expected.current_key !== undefined ? [{ v, pinKey: outs[n]!.pin_key as string }] : [],
  );
  const epbs = await jsonLines(
    withPinBlock.map(({ v, pinKey }) => [
      'lab',
      'pinblock',
      'encode',
      '--format',
      '0',
      '--pin',
      v.inputs.pin,
      '--pan',
      v.inputs.pan,
      '--key',
      pinKey,
    ]),
  );
  t.ok(withPinBlock.length > 0, 'some vectors carry an encrypted PIN block');
  for (const [n, v] of tdes.entries()) {
    t.test(`lab dukpt: ${named(v)}`, async (t) => {
      const out = outs[n]!;
      t.equal(out.algorithm, 'tdes');
      t.equal(out.ksn, v.inputs.ksn);
      if (v.expected.ipek !== undefined) {
        t.equal(out.ipek, v.expected.ipek);
        t.equal(out.ipek_kcv, v.expected.ipek_kcv);
      }
      if (v.inputs.ipek !== undefined) t.equal(out.ipek, v.inputs.ipek);
      if (v.expected.current_key !== undefined) {
        t.equal(out.transaction_key, v.expected.current_key);
        const epb = epbs[withPinBlock.findIndex((x) => x.v === v)];
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
});

const aes = vectors('aes_dukpt');

t.test('lab dukpt --aes, one process for every vector', async (t) => {
  const first = aes[0]!;
  const bdk = first.inputs.bdk as string; // the other vectors start from the initial key of that BDK
  const withKsn = aes.filter((x) => x.inputs.ksn !== undefined || x.inputs.ksn_1 !== undefined);
  const secondKsn = withKsn.filter((v) => v.expected.pin_key_1 !== undefined);
  const outs = await jsonLines([
    ['lab', 'dukpt', '--aes', '--key-type', 'aes128', '--bdk', bdk, '--ksn', `${first.inputs.initial_key_id}00000000`],
    ...withKsn.map((v) => [
      'lab',
      'dukpt',
      '--aes',
      '--key-type',
      'aes128',
      '--bdk',
      bdk,
      '--ksn',
      (v.inputs.ksn ?? v.inputs.ksn_1) as string,
    ]),
    ...secondKsn.map((v) => ['lab', 'dukpt', '--aes', '--bdk', bdk, '--ksn', v.inputs.ksn_2 as string]),
  ]);
  t.test(`lab dukpt --aes: ${named(first)}`, async (t) => {
    const out = outs[0]!;
    t.equal(out.initial_key, first.expected.initial_key);
    t.equal(out.key_type, 'aes128');
    t.notOk('pin_key' in out, 'counter 0 names the initial key only');
  });
  for (const [n, v] of withKsn.entries()) {
    t.test(`lab dukpt --aes: ${named(v)}`, async (t) => {
      const out = outs[1 + n]!;
      t.equal(out.initial_key, v.inputs.initial_key);
      if (v.expected.transaction_key !== undefined) t.equal(out.transaction_key, v.expected.transaction_key);
      if (v.expected.pin_key_1 !== undefined) {
        t.equal(out.pin_key, v.expected.pin_key_1);
        t.equal(out.mac_key, v.expected.mac_gen_key_1);
        t.equal(out.data_key, v.expected.data_enc_key_1);
        t.equal(outs[1 + withKsn.length + secondKsn.indexOf(v)]!.pin_key, v.expected.pin_key_2);
      }
    });
  }
});

/** What one PIN block vector asks the CLI, and what it must print (a JSON object or one field of it). */
interface PinBlockCheck {
  args: string[];
  expected: Record<string, unknown>;
  field?: string;
}

function pinBlockChecks(i: Record<string, any>, e: Record<string, any>): PinBlockCheck[] {
  const checks: PinBlockCheck[] = [];
  if (e.pin_block !== undefined && i.pin !== undefined) {
    checks.push({
      args: ['lab', 'pinblock', 'encode', '--format', '0', '--pin', i.pin, '--pan', i.pan],
      expected: { format: 0, pin_block: e.pin_block, encrypted: false },
    });
    checks.push({
      args: ['lab', 'pinblock', 'decode', '--format', '0', '--block', e.pin_block, '--pan', i.pan],
      expected: { format: 0, pin: i.pin },
    });
  }
  if (e.pin_block_1 !== undefined) {
    checks.push({
      args: ['lab', 'pinblock', 'encode', '--format', '1', '--pin', i.pin_1, '--fill', i.fill_1],
      field: 'pin_block',
      expected: { pin_block: e.pin_block_1 },
    });
    checks.push({
      args: ['lab', 'pinblock', 'decode', '--format', '1', '--block', e.pin_block_2],
      field: 'pin',
      expected: { pin: i.pin_2 },
    });
  }
  if (i.pin_block !== undefined && e.pin !== undefined) {
    checks.push({
      args: ['lab', 'pinblock', 'decode', '--format', '3', '--block', i.pin_block, '--pan', i.pan],
      expected: { format: 3, pin: e.pin },
    });
  }
  if (i.random_fill !== undefined) {
    const key = (i.key ?? i.pin_key) as string;
    checks.push({
      args: [
        'lab',
        'pinblock',
        'encode',
        '--format',
        '4',
        '--pin',
        i.pin,
        '--pan',
        i.pan,
        '--key',
        key,
        '--fill',
        i.random_fill,
      ],
      field: 'pin_block',
      expected: { pin_block: e.encrypted_pin_block },
    });
  }
  if (i.encrypted_pin_block !== undefined) {
    checks.push({
      args: [
        'lab',
        'pinblock',
        'decode',
        '--format',
        '4',
        '--block',
        i.encrypted_pin_block,
        '--pan',
        i.pan,
        '--key',
        i.key,
      ],
      field: 'pin',
      expected: { pin: e.pin },
    });
  }
  return checks;
}

t.test('lab pinblock, one process for every vector', async (t) => {
  const pinVectors = vectors('pin_block_iso9564').map((v) => ({ v, checks: pinBlockChecks(v.inputs, v.expected) }));
  const all = pinVectors.flatMap((x) => x.checks);
  const outs = await jsonLines(all.map((c) => c.args));
  for (const { v, checks } of pinVectors) {
    t.test(`lab pinblock: ${named(v)}`, async (t) => {
      if (v.expected.pin_field_first8 !== undefined) {
        t.equal(checks.length, 0);
        t.pass('field encodings are library-level (test/emv/crypto/pin-block.test.ts)');
        return;
      }
      t.ok(checks.length > 0, 'the vector gives the CLI something to encode or decode');
      for (const check of checks) {
        const out = outs[all.indexOf(check)]!;
        t.same(
          check.field ? { [check.field]: out[check.field] } : out,
          check.expected,
          check.args.slice(1, 3).join(' '),
        );
      }
    });
  }
});

t.test(`lab kcv: ${named(tdes[0]!)}`, async (t) => {
  const aesKey = '1273671EA26AC29AFA4D1084127652A1';
  const [tdesJson, human, aesJson] = await runCodposLines([
    ['lab', 'kcv', '--key', tdes[0]!.expected.ipek, '--json'],
    ['lab', 'kcv', '--key', tdes[0]!.expected.ipek],
    ['lab', 'kcv', '--aes', '--key', aesKey, '--json'],
  ]);
  t.same(JSON.parse(tdesJson!.stdout), { kcv: tdes[0]!.expected.ipek_kcv });
  t.equal(human!.stdout, `KCV  ${tdes[0]!.expected.ipek_kcv}\n`);
  // From OpenSSL, not from our CMAC: `openssl mac -cipher AES-128-CBC -macopt hexkey:<aesKey> CMAC` over
  // 16 zero bytes gives 05EF4531ECD5436E11D1BC7B6D3DD892; the KCV is its first three bytes.
  t.same(JSON.parse(aesJson!.stdout), { kcv: '05EF45' });
});

t.test(
  'human output shows the keys with KCVs and the lab warning; help says it prints keys (separate processes)',
  async (t) => {
    const [result, help, top] = await Promise.all([
      runCodpos(['lab', 'dukpt', '--bdk', a4Bdk, '--ksn', 'FFFF9876543210E00001']),
      runCodpos(['lab', 'dukpt', '--help']),
      runCodpos(['--help']),
    ]);
    t.equal(result!.status, 0, result!.stderr);
    t.match(result!.stdout, /IPEK\s+6AC292FAA1315B4D858AB3A3D7D5933A\s+KCV AF8C07/);
    t.match(result!.stdout, /transaction key\s+042666B49184CFA368DE9628D0397BC9/);
    t.match(result!.stdout, /TEST keys only/);
    t.match(help!.stdout, /prints keys, PINs and PIN blocks in clear/);
    t.match(top!.stdout, /lab\s+DUKPT, PIN block and KCV tools/);
  },
);

t.test('mistakes exit 2 with a line naming the problem, no stack trace', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['lab', 'dukpt', '--bdk', a4Bdk, '--ksn', '123456789012345600000001'],
      /TDES KSN must be 10 bytes long \(got 12\)/,
    ],
    [
      ['lab', 'dukpt', '--aes', '--bdk', a4Bdk, '--ksn', 'FFFF9876543210E00001'],
      /AES KSN must be 12 bytes long \(got 10\)/,
    ],
    [
      ['lab', 'dukpt', '--bdk', a4Bdk, '--ksn', 'FFFF9876543210E00001', '--key-type', 'aes128'],
      /--key-type applies to AES DUKPT only/,
    ],
    [
      ['lab', 'dukpt', '--aes', '--bdk', a4Bdk, '--ksn', '123456789012345600000001', '--key-type', 'aes256'],
      /BDK must be 32 bytes for key type aes256/,
    ],
    [['lab', 'dukpt', '--bdk', a4Bdk, '--ksn', 'FFFF9876543210E007FF'], /11 one-bits/],
    [
      ['lab', 'pinblock', 'encode', '--format', '2', '--pin', '1234', '--pan', '4761739001010119'],
      /format must be 0, 1, 3 or 4/,
    ],
    [
      ['lab', 'pinblock', 'encode', '--format', '0', '--pin', '123', '--pan', '4761739001010119'],
      /PIN must be 4 to 12 digits long \(got 3\)/,
    ],
    [
      ['lab', 'pinblock', 'encode', '--format', '4', '--pin', '1234', '--pan', '4761739001010119'],
      /format 4 is defined only enciphered/,
    ],
    [
      ['lab', 'pinblock', 'decode', '--format', '0', '--block', '041261AAAAEDCBA9', '--pan', '4761739001010119'],
      /not a valid format 0 PIN block/,
    ],
    [['lab', 'dukpt', '--ksn', 'FFFF9876543210E00001'], /required option '--bdk <hex>' not specified/],
  ];
  const jsonErrorArgs = ['lab', 'kcv', '--key', '0123', '--json'];
  const results = await runCodposLines([...cases.map(([args]) => args), jsonErrorArgs]);
  for (const [n, [args, message]] of cases.entries()) {
    const result = results[n]!;
    t.equal(result.status, 2, `${args.join(' ')}: exit 2`);
    t.match(result.stderr, message, `${args.join(' ')}: names the problem`);
    t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
    t.notMatch(result.stderr, /4761739001010119/, 'no full PAN');
  }
  t.same(JSON.parse(results[cases.length]!.stderr), {
    error: 'CODPOS_CRYPTO_KEY_LENGTH',
    message: 'key must be 8, 16 or 24 bytes long (got 2)',
    details: { field: 'key', length: 2 },
  });

  // The driver is the real thing: separate processes print the same bytes and exit the same way.
  const spawned = await Promise.all([cases[0]![0], cases[9]![0], jsonErrorArgs].map((args) => runCodpos(args)));
  t.same(spawned, [results[0], results[9], results[cases.length]]);
});
