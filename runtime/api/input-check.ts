/**
 * The gate of a described route (ApiOperation, server.ts): its zod schemas check the path
 * parameters, the query string and the JSON body before its handler runs. The first problem
 * is named as `field: what was expected`, the answer of a 400 CODPOS_USAGE_BAD_REQUEST.
 */
import type { ZodType } from 'zod';
import type { ApiOperation } from './server.js';

export interface RequestInput {
  query: URLSearchParams;
  params: Record<string, string>;
  body: unknown;
}

/** What the first refused part of a request is, or undefined when every schema accepts it. */
export function inputProblem(operation: ApiOperation, input: RequestInput): string | undefined {
  return (
    problemOf(operation.params, input.params, 'path') ??
    problemOf(operation.query, queryObject(input.query), 'query') ??
    problemOf(operation.body, input.body, 'body')
  );
}

/** The query string as the object its schema reads: each name's first value (a repeated name is the handler's to refuse). */
export function queryObject(query: URLSearchParams): Record<string, string> {
  const object: Record<string, string> = {};
  for (const [name, value] of query) if (!(name in object)) object[name] = value;
  return object;
}

function problemOf(schema: ZodType | undefined, value: unknown, where: string): string | undefined {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return undefined;
  const issue = result.error.issues[0]!;
  // A refused whole (a body that is not an object) has no field to name: say which part it is.
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : where;
  return `${field}: ${issue.message}`;
}
