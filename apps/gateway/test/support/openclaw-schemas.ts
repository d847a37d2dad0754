import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * OpenClaw 2026.9.6's own JSON Schemas (test/fixtures/openclaw-protocol-v4),
 * compiled once: the conformance tests check every frame our gateway sends
 * against the schema OpenClaw's side validates it with.
 */
type SchemaFile = {
  constants: { PROTOCOL_VERSION: number; ErrorCodes: Record<string, string> };
  schemas: Record<string, object>;
};

export const openClawProtocol = JSON.parse(
  readFileSync(new URL('../fixtures/openclaw-protocol-v4/schemas.json', import.meta.url), 'utf8'),
) as SchemaFile;

export type OpenClawSchemaName = keyof typeof openClawProtocol.schemas & string;

// OpenClaw's schemas carry their own annotations (`x-openclaw-since`), which strict mode would refuse.
const ajv = new Ajv({ strict: false, allErrors: true });
const compiled = new Map<string, ValidateFunction>();

/** The problems `value` has against OpenClaw's schema `name` (empty when it conforms). */
export function openClawSchemaErrors(name: string, value: unknown): string[] {
  let validate = compiled.get(name);
  if (!validate) {
    const schema = openClawProtocol.schemas[name];
    if (!schema) throw new Error(`no OpenClaw schema named ${name}`);
    validate = ajv.compile(schema);
    compiled.set(name, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map(
    (error) => `${error.instancePath || '/'} ${error.message ?? ''} ${JSON.stringify(error.params)}`,
  );
}
