import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { configSchema } from '../../config/schema.js';
import { packageRoot } from '../../config/paths.js';

type JsonSchema = { properties?: Record<string, JsonSchema>; anyOf?: JsonSchema[]; oneOf?: JsonSchema[] };

function leafPaths(schema: JsonSchema, path: string[], out: Set<string>): void {
  if (schema.properties) {
    for (const [key, child] of Object.entries(schema.properties)) leafPaths(child, [...path, key], out);
    return;
  }
  const variants = (schema.anyOf ?? schema.oneOf ?? []).filter((v) => v.properties);
  if (variants.length > 0) for (const v of variants) leafPaths(v, path, out);
  else out.add(path.join('.'));
}

t.test('docs/config.md names every setting of the schema', async (t) => {
  const doc = readFileSync(join(packageRoot, 'docs', 'config.md'), 'utf8');
  const paths = new Set<string>();
  leafPaths(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema, [], paths);
  t.ok(paths.size > 50, 'the walk found the settings');
  for (const path of paths) {
    // Device settings shared by all four devices are documented once, by their key under the device.
    const shared = path.match(/^devices\.[a-zA-Z]+\.((?:transport|reconnect)\..+|enabled|baudRate)$/);
    const documented = shared
      ? doc.includes('`' + shared[1] + '`') || shared[1] === 'enabled' || shared[1] === 'baudRate'
      : doc.includes('`' + path + '`');
    t.ok(documented, `${path} is documented`);
  }
});
