import { randomBytes } from 'node:crypto';
import { ErrorEnvelope } from '@multiclaw/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestUser, testActors } from '../../../test/support/actors.js';
import { createTestApp } from '../../../test/support/app.js';
import { fromSchema, hostileString, type JsonSchema } from '../../../test/support/schema-arbitrary.js';

/**
 * A property-based sweep over every operation in /openapi.json: schema-shaped
 * and hostile bodies, queries and path values, sent as owner, member,
 * outsider and nobody. For every request: never a 5xx; every error in the
 * envelope, with a status and code that the document lists for that route;
 * and a workspace the caller is not in is a 404 whatever else was sent.
 * Bounded for CI: a fixed seed and a few runs per operation.
 */
const SEED = 20_261_130;
const RUNS_PER_OPERATION = Number(process.env.API_SWEEP_RUNS ?? 12);
const PASSWORD = 'correct horse battery staple 7';

/** Requests that would end the sweep's own sessions or accounts: every other operation is swept. */
const NOT_SWEPT = new Set(['POST /v1/auth/logout', 'DELETE /v1/me']);

type Operation = {
  method: string;
  path: string;
  parameters?: Array<{ in: 'path' | 'query'; name: string; required?: boolean; schema: JsonSchema }>;
  requestBody?: { content: { 'application/json'?: { schema: JsonSchema } } };
  responses: Record<string, { content?: { 'application/json'?: { schema?: JsonSchema } } }>;
};

let ctx: Awaited<ReturnType<typeof createTestApp>>;
let operations: Operation[] = [];
const actors: Record<string, TestUser | undefined> = {};
const fixtureIds: Record<string, string> = {};

const { send, signUp } = testActors(() => ctx, {
  address: '203.0.113.50',
  userAgent: 'api-sweep-test/1.0',
  password: PASSWORD,
});

beforeAll(async () => {
  ctx = await createTestApp({ env: { AUTH_RATE_LIMIT_MAX: '100000' } });
  const [owner, member, outsider] = await Promise.all([signUp(), signUp(), signUp()]);
  Object.assign(actors, { owner, member, outsider, nobody: undefined });
  const as = (user: TestUser | undefined) => user?.token;
  const created = await send({
    method: 'POST',
    url: '/v1/workspaces',
    token: as(owner),
    payload: { name: 'sweep' },
  });
  const wid = created.json<{ id: string }>().id;
  await ctx.app.db.membership.create({
    data: { workspaceId: wid, userId: member?.id ?? '', role: 'member' },
  });
  const agent = await send({
    method: 'POST',
    url: `/v1/workspaces/${wid}/agents`,
    token: as(owner),
    payload: { name: 'swept', provider: 'anthropic', model: 'claude-sonnet-4' },
  });
  const secret = await send({
    method: 'POST',
    url: `/v1/workspaces/${wid}/secrets`,
    token: as(owner),
    payload: { name: 'swept', value: 'v' },
  });
  const invitation = await send({
    method: 'POST',
    url: `/v1/workspaces/${wid}/invitations`,
    token: as(owner),
    payload: { email: `invitee-${randomBytes(3).toString('hex')}@example.com`, role: 'member' },
  });
  Object.assign(fixtureIds, {
    wid,
    aid: agent.json<{ id: string }>().id,
    sid: secret.json<{ id: string }>().id,
    iid: invitation.json<{ id: string }>().id,
    uid: member?.id ?? '',
  });
  const document = (await ctx.app.inject({ url: '/openapi.json' })).json<{
    paths: Record<string, Record<string, Omit<Operation, 'method' | 'path'>>>;
  }>();
  operations = Object.entries(document.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod).map(([method, operation]) => ({
      ...operation,
      method: method.toUpperCase(),
      path,
    })),
  );
}, 120_000);
afterAll(async () => {
  await ctx?.close();
});

function pathValue(name: string, method: string): fc.Arbitrary<string> {
  const known = fixtureIds[name];
  const random = fc.oneof(
    fc.uuid(),
    hostileString.filter((value) => value !== ''),
  );
  // Deleting the fixtures would leave the rest of the sweep nothing to find.
  if (!known || method === 'DELETE') return random;
  return fc.oneof(fc.constantFrom(known, known.toUpperCase()), random);
}

/** A lone surrogate cannot be percent-encoded as UTF-8: send the bytes a careless client would (invalid UTF-8). */
function encodePathSegment(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

function queryValue(schema: JsonSchema): fc.Arbitrary<string> {
  return fc.oneof(
    fromSchema(schema, 0).map((value) => (typeof value === 'string' ? value : JSON.stringify(value))),
    hostileString,
  );
}

function documentedCodes(operation: Operation, status: number): string[] | undefined {
  const response = operation.responses[String(status)];
  if (!response) return undefined;
  const schema = response.content?.['application/json']?.schema as
    | { properties?: { error?: { properties?: { code?: { enum?: string[] } } } } }
    | undefined;
  return schema?.properties?.error?.properties?.code?.enum ?? [];
}

describe('every operation in /openapi.json, swept with schema-shaped and hostile input', () => {
  it('the document lists operations, each with its error responses', () => {
    expect(operations.length).toBeGreaterThan(40);
    for (const operation of operations) {
      const errorStatuses = Object.keys(operation.responses).filter((status) => Number(status) >= 400);
      expect(errorStatuses, `${operation.method} ${operation.path}`).toContain('500');
      for (const status of errorStatuses) {
        expect(
          documentedCodes(operation, Number(status))?.length,
          `${operation.method} ${operation.path} ${status}`,
        ).toBeGreaterThan(0);
      }
    }
  });

  it('never answers a 5xx, always the envelope with a documented code, and 404 to an outsider', async () => {
    const failures: string[] = [];
    for (const operation of operations) {
      const label = `${operation.method} ${operation.path}`;
      if (NOT_SWEPT.has(label)) continue;
      const pathParams = (operation.parameters ?? []).filter((parameter) => parameter.in === 'path');
      const queryParams = (operation.parameters ?? []).filter((parameter) => parameter.in === 'query');
      const bodySchema = operation.requestBody?.content['application/json']?.schema;
      const request = fc.record({
        actor: fc.constantFrom('owner', 'member', 'outsider', 'nobody'),
        path: fc.record(
          Object.fromEntries(pathParams.map((p) => [p.name, pathValue(p.name, operation.method)])),
        ),
        query: fc.record(Object.fromEntries(queryParams.map((p) => [p.name, queryValue(p.schema)])), {
          requiredKeys: [],
        }),
        body: bodySchema ? fromSchema(bodySchema, 0.2) : fc.constant(undefined),
      });
      await fc
        .assert(
          fc.asyncProperty(request, async ({ actor, path, query, body }) => {
            const url = operation.path.replace(/\{(\w+)\}/g, (_, name: string) =>
              encodePathSegment(String((path as Record<string, string>)[name])),
            );
            const response = await send({
              method: operation.method as 'GET',
              url,
              query: query as Record<string, string>,
              token: actors[actor]?.token,
              ...(body === undefined
                ? {}
                : { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
            });
            const where = `${label} as ${actor} → ${response.statusCode} ${response.body.slice(0, 300)}`;
            expect(response.statusCode, where).toBeLessThan(500);
            if (response.statusCode >= 400) {
              const { error } = ErrorEnvelope.parse(response.json());
              const documented = documentedCodes(operation, response.statusCode);
              expect(documented, `${where}: status not in /openapi.json`).toBeDefined();
              expect(documented, `${where}: code not in /openapi.json`).toContain(error.code);
            }
            const foreignWorkspace =
              actor === 'outsider' &&
              operation.path.startsWith('/v1/workspaces/{wid}') &&
              String((path as Record<string, string>).wid).toLowerCase() === fixtureIds.wid;
            if (foreignWorkspace) expect(response.statusCode, where).toBe(404);
          }),
          { seed: SEED, numRuns: RUNS_PER_OPERATION, endOnFailure: true },
        )
        .catch((error: Error) => {
          const counterexample = error.message.split('\n').find((line) => line.startsWith('Counterexample'));
          failures.push(`${counterexample}\n${(error.cause as Error | undefined)?.message ?? error.message}`);
        });
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
  }, 300_000);
});
