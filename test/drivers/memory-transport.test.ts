/**
 * The in-memory transport keeps nothing it carries unless a test asks for it, and then only the
 * latest chunks: the daemon's simulated devices talk over these pairs for as long as it runs.
 */
import t from 'tap';
import { memoryPair } from '../../drivers/transport/memory.js';

async function openPair(options = {}) {
  const pair = memoryPair('wire', options);
  await pair.host.open();
  await pair.device.open();
  return pair;
}

t.test('by default no chunk is kept, and the peer still gets every one', async (t) => {
  const { host, device } = await openPair();
  const arrived: number[] = [];
  device.on('data', (chunk: Buffer) => arrived.push(chunk[0]!));
  for (let i = 0; i < 500; i++) await host.write(Buffer.from([i & 0xff]));
  await host.drain();
  t.equal(host.written.length, 0, 'nothing kept');
  t.equal(arrived.length, 500, 'everything delivered');
});

t.test('keepWrites keeps the latest chunks only, oldest first, copied', async (t) => {
  const { host } = await openPair({ keepWrites: 3 });
  const reused = Buffer.from([0]);
  for (let i = 1; i <= 10; i++) {
    reused[0] = i;
    await host.write(reused);
  }
  t.same(
    host.written.map((chunk) => chunk[0]),
    [8, 9, 10],
    'the last three, in order',
  );
});
