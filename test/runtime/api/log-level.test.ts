/** POST /v1/diagnostics/log-level (runtime/api/diagnostics-routes.ts): the log level at run time, without a file edit. */
import t from 'tap';
import { call, startDaemon } from '../daemon-fixtures.js';

t.test(
  'the level set through the API is the logger level from then on; a level that is none is a 400 with its code',
  async (t) => {
    const { socketPath } = await startDaemon(t);
    const first = await call(socketPath, 'POST', '/v1/diagnostics/log-level', { level: 'debug' });
    t.equal(first.status, 200);
    t.same(first.json, { level: 'debug', previous: 'silent' }, 'the fixture daemon logs nothing until told');
    const second = await call(socketPath, 'POST', '/v1/diagnostics/log-level', { level: 'silent' });
    t.same(second.json, { level: 'silent', previous: 'debug' }, 'the first change held');

    const bad = await call(socketPath, 'POST', '/v1/diagnostics/log-level', { level: 'loud' });
    t.equal(bad.status, 400);
    t.match(bad.json, { error: { code: 'CODPOS_USAGE_LOG_LEVEL', message: /^level: / } });
    const openapi = await call(socketPath, 'GET', '/v1/openapi.json');
    t.ok((openapi.json.paths as Record<string, unknown>)['/v1/diagnostics/log-level'], 'in the OpenAPI document');
  },
);
