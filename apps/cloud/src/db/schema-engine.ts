import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  ColumnTypeEnum,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
  type SqlResultSet,
} from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import * as bindings from '@prisma/schema-engine-wasm/schema_engine_bg';
import pg from 'pg';

/**
 * Prisma's schema engine (migrations, diffing) compiled to WebAssembly, run
 * in-process. Prisma's CLI would download a native schema-engine binary at run
 * time; this needs no network at all.
 *
 * The package is built for bundlers (`import * as wasm from "./x.wasm"`), which
 * Node cannot do, so we compile the .wasm ourselves and hand its exports to the
 * generated JS glue exactly as that entry point would. The glue keeps the wasm
 * instance in module state, so it is instantiated once per process.
 */

export type { SchemaEngine } from '@prisma/schema-engine-wasm';

/** The part of the WebAssembly JS API we use (our `lib` has no DOM types). */
type WasmApi = {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: Record<string, object>): Promise<{ exports: Record<string, unknown> }>;
};
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let ready: Promise<void> | undefined;

function instantiate(): Promise<void> {
  ready ??= (async () => {
    const require = createRequire(import.meta.url);
    const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const module = await wasmApi.compile(await readFile(gluePath.replace(/\.js$/, '.wasm')));
    // Its only import module is the glue file itself.
    const instance = await wasmApi.instantiate(module, { './schema_engine_bg.js': bindings });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
  })();
  ready.catch(() => {
    ready = undefined;
  });
  return ready;
}

export type SchemaEngineHandle = {
  engine: SchemaEngine;
  /** Frees the engine and closes every database connection it opened. */
  close(): Promise<void>;
};

export type OpenSchemaEngineOptions = {
  /** Database the engine operates on. Without one, only offline commands (`diff` of schemas) work. */
  databaseUrl?: string;
  /** Initial datamodels, as (file name, content) pairs. */
  datamodels?: Array<[string, string]>;
  log?: (line: string) => void;
};

/**
 * A driver adapter for commands that need no database (`diff` between schema
 * files). The engine still probes the server once when it is created; this
 * answers that probe as a PostgreSQL 15 server with the `public` schema, and
 * refuses every other statement, so a command that does need a database fails
 * loudly instead of acting on a pretend one.
 */
function offlineAdapterFactory(): SqlMigrationAwareDriverAdapterFactory {
  const refuse = (what: string) =>
    Promise.reject(new Error(`the offline schema engine has no database (${what}); pass a databaseUrl`));
  const adapter: SqlDriverAdapter = {
    provider: 'postgres',
    adapterName: 'multiclaw-offline',
    async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
      if (/^SELECT EXISTS\(SELECT 1 FROM pg_namespace WHERE nspname = \$1\), version\(\)/.test(query.sql)) {
        return {
          columnNames: ['exists', 'version', 'numeric_version'],
          columnTypes: [ColumnTypeEnum.Boolean, ColumnTypeEnum.Text, ColumnTypeEnum.Int32],
          rows: [[true, 'PostgreSQL 15.0 (offline)', 150000]],
        };
      }
      return refuse(`query: ${query.sql.slice(0, 80)}`);
    },
    executeRaw: () => refuse('executeRaw'),
    executeScript: () => refuse('executeScript'),
    startTransaction: () => refuse('startTransaction'),
    getConnectionInfo: () => ({ schemaName: 'public', supportsRelationJoins: true }),
    dispose: async () => {},
  };
  return {
    provider: 'postgres',
    adapterName: 'multiclaw-offline',
    connect: async () => adapter,
    connectToShadowDb: () => refuse('shadow database'),
  };
}

/**
 * Creates a schema engine. With `databaseUrl` it works on that database
 * (apply migrations, diagnose history); without, it can only diff schemas.
 * Always `close()` it.
 */
export async function openSchemaEngine(options: OpenSchemaEngineOptions = {}): Promise<SchemaEngineHandle> {
  await instantiate();
  // We own the pool (PrismaPg does not end a pool it was given), so close()
  // can guarantee that no connection outlives the engine.
  const pool = options.databaseUrl
    ? new pg.Pool({ connectionString: options.databaseUrl, max: 2 })
    : undefined;
  pool?.on('error', () => {
    // An idle connection died (e.g. the server restarted): the next query reports it.
  });
  const adapterFactory = bindMigrationAwareSqlAdapterFactory(
    pool ? new PrismaPg(pool) : offlineAdapterFactory(),
  );
  const log = options.log ?? (() => {});
  let engine: SchemaEngine;
  try {
    engine = await bindings.SchemaEngine.new(
      { datamodels: options.datamodels },
      (line: string) => log(String(line)),
      adapterFactory,
    );
  } catch (error) {
    await pool?.end();
    throw error;
  }
  let closed = false;
  return {
    engine,
    async close() {
      if (closed) return;
      closed = true;
      engine.free();
      await pool?.end();
    },
  };
}
