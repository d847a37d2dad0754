/**
 * Architecture rule: the gateway opens outbound connections only through
 * src/egress/egress.ts, which checks every destination against the allowlist
 * (docs/connections.md). Every other non-test source file is parsed with the
 * TypeScript compiler and must not call the global fetch, import a network
 * client module, or open a client WebSocket. Inbound listeners stay possible:
 * node:http only in the files listed below (and never its client half), `ws`
 * only for WebSocketServer under src/api/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const GATEWAY_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const EGRESS_MODULE = 'src/egress/egress.ts';

/** Files that may import node:http values, and why. Only its server half: see HTTP_CLIENT_EXPORTS. */
const INBOUND_HTTP_ALLOWLIST: Record<string, string> = {
  'src/api/server.ts': 'inbound loopback listener',
  'src/cli/port-probe.ts': 'binds a local port to learn whether it is free; never connects',
};

/** Modules whose only purpose is (or includes) opening outbound connections. */
const CLIENT_MODULES = new Set([
  'undici',
  'https',
  'node:https',
  'net',
  'node:net',
  'tls',
  'node:tls',
  'dgram',
  'node:dgram',
  'http2',
  'node:http2',
  'node-fetch',
  'cross-fetch',
  'axios',
  'got',
]);
const HTTP_MODULES = new Set(['http', 'node:http']);
const NET_MODULES = new Set(['net', 'node:net']);
/** node:net exports that only inspect strings: importing just these opens nothing. */
const NET_PURE_EXPORTS = new Set(['isIP', 'isIPv4', 'isIPv6']);
const HTTP_CLIENT_EXPORTS = new Set(['request', 'get', 'Agent', 'globalAgent', 'ClientRequest']);
const GLOBAL_OBJECTS = new Set(['globalThis', 'global', 'window', 'self']);
/** Constructors of outbound clients available as globals (Node 22+) or from `ws`. */
const CLIENT_CONSTRUCTORS = new Set(['WebSocket', 'EventSource']);

interface Violation {
  file: string;
  line: number;
  rule: string;
}

function isClientModule(specifier: string): boolean {
  return CLIENT_MODULES.has(specifier) || specifier.startsWith('undici/');
}

function isWsModule(specifier: string): boolean {
  return specifier === 'ws' || specifier.startsWith('ws/');
}

/** Whether this `fetch` identifier names a member or declaration rather than reading the global. */
function isMemberName(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent)) return parent.name === node;
  if (ts.isQualifiedName(parent)) return parent.right === node;
  if (ts.isBindingElement(parent)) return parent.propertyName === node;
  return (
    (ts.isPropertyAssignment(parent) ||
      ts.isMethodDeclaration(parent) ||
      ts.isMethodSignature(parent) ||
      ts.isPropertySignature(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isGetAccessorDeclaration(parent) ||
      ts.isVariableDeclaration(parent) ||
      ts.isParameter(parent) ||
      ts.isFunctionDeclaration(parent)) &&
    parent.name === node
  );
}

/** Finds every direct-egress construct in one source file (`file` is relative to apps/gateway). */
function scanSource(file: string, source: string): Violation[] {
  const sourceFile = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const violations: Violation[] = [];
  const httpBindings = new Set<string>();
  const inboundHttpAllowed = file in INBOUND_HTTP_ALLOWLIST;
  const underApi = file.startsWith('src/api/');

  function report(node: ts.Node, rule: string) {
    const { line } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
    violations.push({ file, line: line + 1, rule });
  }

  /** Checks one module reference; `bindings` is undefined when the imported names are unknown (require, import()). */
  function checkModule(
    node: ts.Node,
    specifier: string,
    bindings?: { named: string[]; whole: string[] },
  ): void {
    const pureNetImport =
      NET_MODULES.has(specifier) &&
      bindings !== undefined &&
      bindings.whole.length === 0 &&
      bindings.named.every((name) => NET_PURE_EXPORTS.has(name));
    if (isClientModule(specifier) && !pureNetImport) report(node, `imports ${specifier}`);
    if (HTTP_MODULES.has(specifier)) {
      if (!inboundHttpAllowed || !bindings) {
        report(node, `imports ${specifier} outside the inbound listener allowlist`);
        return;
      }
      for (const name of bindings.named) {
        if (HTTP_CLIENT_EXPORTS.has(name)) report(node, `imports the HTTP client ${name} from ${specifier}`);
      }
      for (const name of bindings.whole) httpBindings.add(name);
    }
    if (isWsModule(specifier)) {
      if (!underApi || !bindings) {
        report(node, `imports ${specifier} outside src/api/`);
        return;
      }
      if (bindings.whole.length > 0) report(node, `imports all of ${specifier}, client included`);
      for (const name of bindings.named) {
        if (name !== 'WebSocketServer')
          report(node, `imports ${name} from ${specifier} (only WebSocketServer)`);
      }
    }
  }

  function importBindings(clause: ts.ImportClause | undefined): { named: string[]; whole: string[] } {
    const named: string[] = [];
    const whole: string[] = [];
    if (!clause || clause.isTypeOnly) return { named, whole };
    if (clause.name) whole.push(clause.name.text);
    const bindings = clause.namedBindings;
    if (bindings && ts.isNamespaceImport(bindings)) whole.push(bindings.name.text);
    if (bindings && ts.isNamedImports(bindings)) {
      for (const element of bindings.elements) {
        if (!element.isTypeOnly) named.push((element.propertyName ?? element.name).text);
      }
    }
    return { named, whole };
  }

  function visit(node: ts.Node): void {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const bindings = importBindings(node.importClause);
      const typeOnly = node.importClause !== undefined && bindings.named.length + bindings.whole.length === 0;
      if (!typeOnly) checkModule(node, node.moduleSpecifier.text, bindings);
    } else if (
      ts.isExportDeclaration(node) &&
      !node.isTypeOnly &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      checkModule(node, node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node)) {
      const [first] = node.arguments;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      if ((isRequire || isDynamicImport) && first && ts.isStringLiteralLike(first))
        checkModule(node, first.text);
    } else if (ts.isIdentifier(node) && node.text === 'fetch' && !isMemberName(node)) {
      report(node, 'uses the global fetch');
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const owner = node.expression.text;
      if (node.name.text === 'fetch' && GLOBAL_OBJECTS.has(owner)) report(node, 'uses the global fetch');
      if (httpBindings.has(owner) && HTTP_CLIENT_EXPORTS.has(node.name.text)) {
        report(node, `uses the HTTP client ${owner}.${node.name.text}`);
      }
    } else if (
      ts.isElementAccessExpression(node) &&
      ts.isIdentifier(node.expression) &&
      GLOBAL_OBJECTS.has(node.expression.text) &&
      ts.isStringLiteralLike(node.argumentExpression) &&
      node.argumentExpression.text === 'fetch'
    ) {
      report(node, 'uses the global fetch');
    } else if (ts.isNewExpression(node)) {
      const callee = node.expression;
      const name = ts.isIdentifier(callee)
        ? callee.text
        : ts.isPropertyAccessExpression(callee)
          ? callee.name.text
          : undefined;
      if (name && CLIENT_CONSTRUCTORS.has(name)) report(node, `opens an outbound ${name}`);
    }
    ts.forEachChild(node, visit);
  }

  visit(sourceFile);
  return violations;
}

/**
 * The workspace packages the gateway runs with (bundled into its build): their
 * code runs in the gateway's process, so the same rule holds for them.
 */
const RUNTIME_PACKAGES = [
  '../../packages/protocol/src',
  '../../packages/runtime/src',
  '../../packages/updater/src',
];
const TEST_PEERS = new Set(['@multiclaw/test-support', '@multiclaw/cloud']);

/** Every non-test TypeScript source file under `dir`, relative to apps/gateway with '/' separators. */
function sourceFilesUnder(dir: string): string[] {
  const entries = readdirSync(join(GATEWAY_ROOT, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && /\.[cm]?tsx?$/.test(entry.name))
    .filter((entry) => !/\.test\.[cm]?tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts'))
    .map((entry) => relative(GATEWAY_ROOT, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

/** The gateway's own sources and those of the packages it runs with. */
function gatewaySourceFiles(): string[] {
  return ['src', ...RUNTIME_PACKAGES].flatMap(sourceFilesUnder);
}

function scanFile(file: string): Violation[] {
  return scanSource(file, readFileSync(join(GATEWAY_ROOT, file), 'utf8'));
}

describe('no direct egress', () => {
  it('no gateway source file but src/egress/egress.ts connects out on its own', () => {
    const files = gatewaySourceFiles();
    // Not vacuous: the scan covers the real tree, the egress module and the provider adapters included.
    expect(files).toContain(EGRESS_MODULE);
    expect(files).toContain('src/providers/openai-completions.ts');
    expect(files).toContain('../../packages/runtime/src/http-errors.ts');
    const violations = files.filter((file) => file !== EGRESS_MODULE).flatMap(scanFile);
    expect(violations).toEqual([]);
  });

  it('every workspace package the gateway runs with is scanned', () => {
    const manifest = JSON.parse(readFileSync(join(GATEWAY_ROOT, 'package.json'), 'utf8'));
    const workspacePackages = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })
      // Test peers (the helpers, a real cloud to link to) never run inside the gateway.
      .filter((name) => name.startsWith('@multiclaw/') && !TEST_PEERS.has(name))
      .map((name) => `../../packages/${name.slice('@multiclaw/'.length)}/src`);
    expect(RUNTIME_PACKAGES).toEqual(expect.arrayContaining(workspacePackages));
  });

  it('the scanner sees the fetch call in the egress module itself (which is the one exemption)', () => {
    expect(scanFile(EGRESS_MODULE).map((violation) => violation.rule)).toContain('uses the global fetch');
  });

  it.each([
    ['src/runs/a.ts', "await fetch('https://example.com');", 'uses the global fetch'],
    ['src/runs/a.ts', 'const f = globalThis.fetch;', 'uses the global fetch'],
    ['src/runs/a.ts', "void globalThis['fetch']('x');", 'uses the global fetch'],
    ['src/runs/a.ts', 'const client = { fetch };', 'uses the global fetch'],
    ['src/runs/a.ts', "import { request } from 'undici';", 'imports undici'],
    ['src/runs/a.ts', "import { Agent } from 'undici/lib/agent.js';", 'imports undici/lib/agent.js'],
    ['src/runs/a.ts', "import https from 'node:https';", 'imports node:https'],
    ['src/runs/a.ts', "import * as net from 'net';", 'imports net'],
    ['src/runs/a.ts', "import { isIP, connect } from 'node:net';", 'imports node:net'],
    ['src/runs/a.ts', "import 'node:tls';", 'imports node:tls'],
    ['src/runs/a.ts', "const dgram = await import('node:dgram');", 'imports node:dgram'],
    ['src/runs/a.ts', "const h2 = require('node:http2');", 'imports node:http2'],
    ['src/runs/a.ts', "export { connect } from 'node:net';", 'imports node:net'],
    [
      'src/runs/a.ts',
      "import { createServer } from 'node:http';",
      'imports node:http outside the inbound listener allowlist',
    ],
    [
      'src/api/server.ts',
      "import http from 'node:http';\nhttp.request('http://x');",
      'uses the HTTP client http.request',
    ],
    [
      'src/api/server.ts',
      "import * as http from 'http';\nhttp.get('http://x');",
      'uses the HTTP client http.get',
    ],
    ['src/api/server.ts', "import { get } from 'node:http';", 'imports the HTTP client get from node:http'],
    ['src/runs/a.ts', "new WebSocket('wss://example.com');", 'opens an outbound WebSocket'],
    ['src/api/ws.ts', "import WebSocket from 'ws';", 'imports all of ws, client included'],
    ['src/api/ws.ts', "import { WebSocket } from 'ws';", 'imports WebSocket from ws (only WebSocketServer)'],
    ['src/runs/a.ts', "import { WebSocketServer } from 'ws';", 'imports ws outside src/api/'],
  ])('catches %s: %s', (file, source, rule) => {
    expect(scanSource(file, source).map((violation) => violation.rule)).toContain(rule);
  });

  it.each([
    ['src/runs/a.ts', 'await egress.fetch(url, { method: "POST" });'],
    [
      'src/runs/a.ts',
      'const fake = { fetch: async () => new Response() }; interface E { fetch(u: string): void }',
    ],
    ['src/runs/a.ts', "// never call fetch('x') here\nconst text = 'fetch(\"x\")';"],
    ['src/runs/a.ts', "import type { IncomingMessage } from 'node:http';"],
    ['src/runs/a.ts', "import { type IncomingMessage, type ServerResponse } from 'node:http';"],
    ['src/api/server.ts', "import { createServer } from 'node:http';\ncreateServer(() => {}).listen(0);"],
    [
      'src/api/ws.ts',
      "import { type WebSocket, WebSocketServer } from 'ws';\nnew WebSocketServer({ noServer: true });",
    ],
    ['src/runs/a.ts', "import type { WebSocket } from 'ws';"],
    ['src/config/a.ts', "import { isIP } from 'node:net';"],
  ])('allows %s: %s', (file, source) => {
    expect(scanSource(file, source)).toEqual([]);
  });
});
