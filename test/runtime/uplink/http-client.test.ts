/**
 * The uplink's HTTP client against a real local server: answers read whole, connections kept
 * alive, and each failure (refused, too slow, too large, not http) rejected with its code.
 */
import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient, HttpRequestError, MAX_ANSWER_BYTES } from '../../../runtime/uplink/http-client.js';
import { droppingPort } from '../../helpers/ports.js';

async function serve(t: Test, handler: http.RequestListener): Promise<{ url: string; connections: () => number }> {
  const server = http.createServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

t.test(
  'a POST carries its body and headers; the answer is read whole, and a second request reuses the connection',
  async (t) => {
    const seen: Array<{ method?: string; type?: string; body: string }> = [];
    const { url, connections } = await serve(t, (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, type: req.headers['content-type'], body });
        res
          .writeHead(207, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ echoed: Buffer.byteLength(body) }));
      });
    });
    const client = new HttpClient();
    t.teardown(() => client.close());
    const answer = await client.request(`${url}/records`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"records":["é"]}',
      timeoutMs: 5000,
    });
    t.same(answer, { status: 207, text: JSON.stringify({ echoed: Buffer.byteLength('{"records":["é"]}') }) });
    t.same(seen[0], { method: 'POST', type: 'application/json', body: '{"records":["é"]}' });
    const second = await client.request(`${url}/tasks`, { timeoutMs: 5000 });
    t.equal(second.status, 207);
    t.equal(seen[1]!.method, 'GET');
    t.equal(connections(), 1, 'kept alive: one connection for both');
  },
);

t.test('a server that does not answer in time: ETIMEDOUT naming the time', async (t) => {
  const { url } = await serve(t, () => undefined);
  const client = new HttpClient();
  t.teardown(() => client.close());
  const error = await client.request(url, { timeoutMs: 50 }).catch((e: unknown) => e);
  t.ok(error instanceof HttpRequestError);
  t.match(error, { code: 'ETIMEDOUT', message: /no complete answer within 50 ms/ });
});

t.test('a server that drops the connection before any answer: ECONNRESET', async (t) => {
  // Held for the whole test (a closed port could be taken by another process meanwhile).
  const port = await droppingPort(t);
  const client = new HttpClient();
  t.teardown(() => client.close());
  const error = await client.request(`http://127.0.0.1:${port}/`, { timeoutMs: 5000 }).catch((e: unknown) => e);
  t.ok(error instanceof HttpRequestError);
  t.match(error, { code: 'ECONNRESET' });
});

t.test('an answer larger than the limit is refused, not buffered', async (t) => {
  const { url } = await serve(t, (_req, res) => {
    res.on('error', () => undefined);
    res.end(Buffer.alloc(MAX_ANSWER_BYTES + 1024, 0x61));
  });
  const client = new HttpClient();
  t.teardown(() => client.close());
  t.match(await client.request(url, { timeoutMs: 20_000 }).catch((e: unknown) => e), {
    code: 'E2BIG',
    message: /larger than 16777216 bytes/,
  });
});

t.test('a URL that is not http or https is refused', async (t) => {
  const client = new HttpClient();
  t.match(await client.request('ftp://example.invalid/x', { timeoutMs: 100 }).catch((e: unknown) => e), {
    code: 'EPROTO',
  });
});

t.test('a connection that closes in the middle of the answer is an error, not a short answer', async (t) => {
  const { url } = await serve(t, (_req, res) => {
    res.writeHead(200, { 'Content-Length': '100' });
    res.write('{"accepted":[');
    setImmediate(() => res.socket?.destroy());
  });
  const client = new HttpClient();
  t.teardown(() => client.close());
  const error = await client.request(url, { timeoutMs: 5000 }).then(
    (answer) => answer,
    (e: unknown) => e,
  );
  t.ok(error instanceof HttpRequestError, 'rejected');
  t.match(error, { code: /ECONNRESET|EPIPE/ });
});
