// The house's layers, written down and checked: every import in the shipped code goes to
// its own layer or a lower one, the editor's side reaches the daemon only through the
// contract, and no file imports itself through a cycle. Read from the sources, so a new
// import that breaks a rule fails here with the file, the import and the rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const ROOT = process.cwd();

/**
 * Lowest first. A file imports from its own layer and the ones below it. The extension and
 * the webview are the editor's side: outside their own folders they import the contract
 * alone (the extension also the webview's pure modules, which its preview panel speaks).
 */
const LAYERS: readonly { readonly name: string; readonly paths: readonly string[] }[] = [
  { name: 'contract', paths: ['contract/'] },
  { name: 'the platform', paths: ['platform/'] },
  { name: 'models', paths: ['models/'] },
  {
    name: "the daemon's parts",
    paths: [
      'daemon/image/',
      'daemon/engine/',
      'daemon/runtime/',
      'daemon/jobs.ts',
      'daemon/log.ts',
      'daemon/temp-files.ts',
      'daemon/rates-file.ts',
    ],
  },
  { name: 'the service', paths: ['daemon/service.ts'] },
  {
    name: "the daemon's entry points",
    paths: ['daemon/server.ts', 'daemon/main.ts', 'daemon/cli-args.ts', 'daemon/cli.ts', 'daemon/upscale.ts'],
  },
];
/** Above everything, using any of it: the build and setup scripts (and the tests and benchmarks, not read here). */
const TOP = ['scripts/'];
const EDITOR: Readonly<Record<string, readonly string[]>> = {
  'extension/': ['contract/', 'extension/', 'webview/'],
  'webview/': ['contract/', 'webview/'],
};
/** What the contract's declarations may use: its transport (contract/rpc/) may also use streams, processes and json-rpc-2.0. */
const CONTRACT_PACKAGES = ['node:path'];
const RPC_PACKAGES = ['node:path', 'node:stream', 'node:child_process', 'json-rpc-2.0'];

interface Import {
  readonly from: string;
  /** A repository file ('contract/errors.ts'), or a package name. */
  readonly to: string;
  readonly typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(rel));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

const FILES = ['contract', 'platform', 'models', 'daemon', 'extension', 'webview', 'scripts'].flatMap(sourceFiles);

function importsOf(file: string): Import[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false);
  const found: Import[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    if (!spec.startsWith('.')) {
      found.push({ from: file, to: spec, typeOnly });
      return;
    }
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    const target = [`${base}.ts`, `${base}/index.ts`].find((f) => fs.existsSync(path.join(ROOT, f))) ?? base;
    found.push({ from: file, to: target, typeOnly });
  };
  for (const node of sf.statements) {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier))
      add(node.moduleSpecifier.text, node.importClause?.isTypeOnly === true);
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier))
      add(node.moduleSpecifier.text, node.isTypeOnly);
  }
  // require('./x') in the code (the catalogue's JSON).
  const visit = (n: ts.Node): void => {
    if (
      ts.isCallExpression(n) &&
      ts.isIdentifier(n.expression) &&
      n.expression.text === 'require' &&
      n.arguments.length === 1
    ) {
      const arg = n.arguments[0];
      if (arg && ts.isStringLiteral(arg)) add(arg.text, false);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const IMPORTS = FILES.flatMap(importsOf);
const isFile = (to: string) => FILES.includes(to);

function layerOf(file: string): number {
  return LAYERS.findIndex((l) => l.paths.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p)));
}

test('every shipped source file belongs to a layer or to the editor side', () => {
  const unplaced = FILES.filter(
    (f) => layerOf(f) < 0 && ![...Object.keys(EDITOR), ...TOP].some((p) => f.startsWith(p)),
  );
  assert.deepEqual(unplaced, [], 'add these to LAYERS in test/unit/layers.test.ts');
});

test('no import goes up a layer', () => {
  const upward = IMPORTS.filter((i) => isFile(i.to) && layerOf(i.from) >= 0)
    .filter((i) => layerOf(i.to) < 0 || layerOf(i.to) > layerOf(i.from))
    .map((i) => `${i.from} -> ${i.to}`);
  assert.deepEqual(upward, [], `layers, lowest first: ${LAYERS.map((l) => l.name).join(' < ')}`);
});

test('the extension and the webview reach the rest of the house through the contract alone', () => {
  const outside = IMPORTS.filter((i) => isFile(i.to)).flatMap((i) => {
    const side = Object.keys(EDITOR).find((p) => i.from.startsWith(p));
    if (side === undefined) return [];
    return (EDITOR[side] ?? []).some((allowed) => i.to.startsWith(allowed)) ? [] : [`${i.from} -> ${i.to}`];
  });
  assert.deepEqual(outside, []);
  // The webview is bundled for a browser: what it takes from the contract is types only.
  const webviewValues = IMPORTS.filter((i) => i.from.startsWith('webview/') && i.to.startsWith('contract/'))
    .filter((i) => !i.typeOnly)
    .map((i) => `${i.from} -> ${i.to}`);
  assert.deepEqual(webviewValues, []);
});

test("the contract uses nothing of the daemon's, the models' or the editor's, and no packages but its own few", () => {
  const wrong = IMPORTS.filter((i) => i.from.startsWith('contract/'))
    .filter((i) =>
      isFile(i.to)
        ? !i.to.startsWith('contract/')
        : !(i.from.startsWith('contract/rpc/') ? RPC_PACKAGES : CONTRACT_PACKAGES).includes(i.to),
    )
    .map((i) => `${i.from} -> ${i.to}`);
  assert.deepEqual(wrong, []);
  const declarationsUseRpc = IMPORTS.filter(
    (i) => i.from.startsWith('contract/') && !i.from.startsWith('contract/rpc/') && i.to.startsWith('contract/rpc/'),
  );
  assert.deepEqual(declarationsUseRpc, [], "the contract's declarations do not depend on its transport");
});

/** Strongly connected sets of more than one file (Tarjan). */
function cycles(): string[][] {
  const graph = new Map<string, string[]>();
  for (const i of IMPORTS) if (isFile(i.to)) graph.set(i.from, [...(graph.get(i.from) ?? []), i.to]);
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1) found.push(component.sort());
  };
  for (const f of FILES) if (!index.has(f)) connect(f);
  return found;
}

test('no import cycles', () => {
  assert.deepEqual(
    cycles().map((c) => c.join(' <-> ')),
    [],
  );
});
