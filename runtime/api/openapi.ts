/**
 * GET /v1/openapi.json: an OpenAPI 3.1 document of the local API written from its route table
 * (server.ts). Each described route's summary and the JSON Schemas of its path parameters,
 * query and body come from the same zod schemas that check its requests, so what the document
 * says a route takes is what the route accepts.
 */
import { z, type ZodType } from 'zod';
import type { ApiOperation, ApiRoutes } from './server.js';

type JsonSchema = Record<string, unknown>;

/** The error answer every route may give (server.ts sendError). */
const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'a stable CODPOS_<AREA>_<WHAT> code (config/errors.ts)' },
        message: { type: 'string', description: 'what was wrong, for a person' },
        journalId: { type: 'string', description: 'the journaled payment the error is about' },
      },
    },
  },
};

export function openApiDocument(routes: ApiRoutes, version: string): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, methods] of Object.entries(routes)) {
    paths[path] = {};
    for (const [method, entry] of Object.entries(methods)) {
      paths[path][method.toLowerCase()] = operationOf(path, method, typeof entry === 'object' ? entry : undefined);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'codposd local API',
      version,
      description:
        "The payment terminal daemon's local API (docs/api.md): HTTP/1.1 + JSON on the api.socket Unix socket, and on 127.0.0.1:api.tcpPort with a bearer token.",
    },
    components: {
      schemas: { Error: ERROR_SCHEMA },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'api.bearerToken; needed over TCP only, not on the Unix socket',
        },
      },
    },
    paths,
  };
}

function operationOf(path: string, method: string, operation: ApiOperation | undefined): Record<string, unknown> {
  const parameters = [...parametersOf(operation?.params, 'path'), ...parametersOf(operation?.query, 'query')];
  // A path part named in the path but not described by a schema is still a required string.
  for (const name of path.matchAll(/\{(\w+)\}/g)) {
    if (!parameters.some((p) => p.in === 'path' && p.name === name[1]))
      parameters.push({ name: name[1]!, in: 'path', required: true, schema: { type: 'string' } });
  }
  const stream = operation?.handler === 'stream';
  return {
    summary: operation?.summary ?? `${method} ${path}`,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(operation?.body
      ? { requestBody: { required: false, content: { 'application/json': { schema: jsonSchemaOf(operation.body) } } } }
      : {}),
    responses: {
      '200': stream
        ? { description: 'Server-Sent Events', content: { 'text/event-stream': { schema: { type: 'string' } } } }
        : {
            description: "the answer (JSON, or the page's HTML, script or stylesheet for /status)",
            content: { 'application/json': { schema: {} } },
          },
      default: {
        description: 'an error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    },
  };
}

interface Parameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: JsonSchema;
  description?: string;
}

/** One OpenAPI parameter per property of an object schema. */
function parametersOf(schema: ZodType | undefined, where: 'path' | 'query'): Parameter[] {
  if (!schema) return [];
  const json = jsonSchemaOf(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }));
}

function jsonSchemaOf(schema: ZodType): JsonSchema {
  // The input side: what a client sends. The $schema line is the document's (3.1 is draft 2020-12).
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;
  return json;
}
