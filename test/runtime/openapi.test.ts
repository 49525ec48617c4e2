/**
 * GET /v1/openapi.json (runtime/api/openapi.ts): the document lists every path of the local
 * API with a summary and JSON Schemas written from the zod schemas that check the requests,
 * and every path+method it lists answers (not 404 for the path, not 405, not 500) when called
 * with a request built from the document alone. A body its schema refuses is a 400 naming the field.
 */
import t from 'tap';
import { request } from 'node:http';
import { call, startDaemon } from './daemon-fixtures.js';

type Json = Record<string, unknown>;
interface Parameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: Json;
}
interface Operation {
  summary?: string;
  parameters?: Parameter[];
  requestBody?: { content: { 'application/json': { schema: Json } } };
}

/** A value a schema accepts, from the document only: its first example or enum value, else one of its type. */
function sampleOf(schema: Json): unknown {
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  switch (schema.type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Json>;
      const required = (schema.required ?? []) as string[];
      return Object.fromEntries(required.map((name) => [name, sampleOf(properties[name] ?? {})]));
    }
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return false;
    default:
      return 'sample';
  }
}

/** The head of an event stream and its first bytes; the stream is closed after them. */
function firstBytesOf(
  socketPath: string,
  path: string,
): Promise<{ status: number; contentType: string; first: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path }, (res) => {
      res.setEncoding('utf8');
      res.once('data', (chunk: string) => {
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), first: chunk });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('GET /v1/openapi.json lists every route with its schemas, and every listed path+method answers', async (t) => {
  // A card payment called with no card in the reader ends when the wait does: keep it short.
  const { socketPath } = await startDaemon(t, { emv: { cardWaitMs: 300 } });
  const answer = await call(socketPath, 'GET', '/v1/openapi.json');
  t.equal(answer.status, 200);
  const document = answer.json;
  t.match(document.openapi, /^3\.1\.\d+$/);
  const paths = document.paths as Record<string, Record<string, Operation>>;

  // The route table's paths as the 404 answer names them: the document leaves none out and adds none.
  const missing = await call(socketPath, 'GET', '/v1/no-such-path');
  const tablePaths = String((missing.json.error as Json).message)
    .replace(/^.*; there are /, '')
    .split(', ');
  t.ok(tablePaths.length > 20, 'the 404 message lists the route table');
  t.same(Object.keys(paths).sort(), [...tablePaths].sort());

  let called = 0;
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const name = `${method.toUpperCase()} ${path}`;
      t.ok(
        typeof operation.summary === 'string' &&
          operation.summary.length > 10 &&
          !operation.summary.startsWith(method.toUpperCase()),
        `${name} has a summary`,
      );
      const parameters = operation.parameters ?? [];
      for (const part of path.matchAll(/\{(\w+)\}/g))
        t.ok(
          parameters.some((p) => p.in === 'path' && p.name === part[1] && p.required),
          `${name}: path parameter ${part[1]} is described`,
        );
      const bodySchema = operation.requestBody?.content['application/json'].schema;
      if (bodySchema !== undefined)
        t.match(bodySchema, { type: 'object', properties: Object }, `${name}: its body is a JSON Schema object`);

      const query = new URLSearchParams();
      for (const p of parameters) if (p.in === 'query' && p.required) query.set(p.name, String(sampleOf(p.schema)));
      const target = path.replace(/\{(\w+)\}/g, 'dummy-1') + (query.size > 0 ? `?${query.toString()}` : '');
      if (path === '/v1/events') {
        const stream = await firstBytesOf(socketPath, target);
        t.equal(stream.status, 200, `${name} answers`);
        t.equal(stream.contentType, 'text/event-stream');
        t.match(stream.first, /^: codposd events/);
      } else if (path.startsWith('/status') || path === '/metrics') {
        // The status page's own files and the Prometheus text are not JSON: their status is enough.
        const head = await new Promise<number>((resolve, reject) => {
          const req = request({ socketPath, method: method.toUpperCase(), path: target }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
        t.equal(head, 200, `${name} answers`);
      } else {
        const body = method === 'get' ? undefined : bodySchema !== undefined ? sampleOf(bodySchema) : {};
        const { status, json } = await call(socketPath, method.toUpperCase(), target, body);
        const code = (json.error as Json | undefined)?.code;
        t.not(status, 405, `${name} is a method of its path`);
        t.not(status, 500, `${name} does not fail (${JSON.stringify(json).slice(0, 200)})`);
        t.notOk(
          status === 404 && code === 'CODPOS_USAGE_NOT_FOUND',
          `${name} is a path of the API, and what it drives is there`,
        );
        // A request written from the document passes the schema gate: the document says what the gate takes.
        t.not(code, 'CODPOS_USAGE_BAD_REQUEST', `${name}: a request built from its schemas passes them`);
      }
      called++;
    }
  }
  t.equal(
    called,
    Object.values(paths).reduce((n, methods) => n + Object.keys(methods).length, 0),
    'every listed path+method was called',
  );
});

t.test('a request its schema refuses is a 400 naming the field, before the handler', async (t) => {
  const { socketPath } = await startDaemon(t);
  t.match(await call(socketPath, 'POST', '/v1/payments/card', { amount: '25.00' }), {
    status: 400,
    json: { error: { code: 'CODPOS_USAGE_BAD_REQUEST', message: /^amount: .*expected number/ } },
  });
  // A route with its own documented code for bad input keeps it; the message is the schema's.
  t.match(await call(socketPath, 'POST', '/v1/sim/card', { action: 'shake' }), {
    status: 400,
    json: { error: { code: 'CODPOS_USAGE_SIM', message: /^action: Invalid option/ } },
  });
  t.match(await call(socketPath, 'POST', '/v1/handover', [1, 2]), {
    status: 400,
    json: { error: { code: 'CODPOS_USAGE_HANDOVER', message: /^body: .*expected object/ } },
  });
  t.match(
    await call(socketPath, 'GET', '/v1/waybills/events'),
    { status: 405 },
    'the gate runs after the method is known',
  );
});
