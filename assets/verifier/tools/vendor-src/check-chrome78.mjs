// Checks that the page's scripts parse and run on Chrome 78 (WeChat's older XWeb): ES2019 plus
// BigInt and public class fields (Chrome 72); no `?.`, `??`, logical assignment, private
// names, static blocks or top-level await; none of the newer built-ins listed below.
// Usage, from this folder after `npm ci`: node check-chrome78.mjs [FILE…]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as acorn from 'acorn';
import * as walk from 'acorn-walk';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PAGE_FILES = ['strings.js', 'core.js', 'scan.js', 'app.js', 'v-sw.js', 'vendor/noble/noble-ed25519.js'];
// Other files (relative to assets/verifier/) may be named on the command line instead.
const FILES = process.argv.length > 2 ? process.argv.slice(2) : PAGE_FILES;
// Built-ins newer than Chrome 78, by property name (called as X.name or x.name(...)).
const NEWER = new Set(['hasOwn', 'replaceAll', 'at', 'findLast', 'findLastIndex', 'toSorted',
  'toReversed', 'toSpliced', 'any', 'fromBase64', 'toBase64', 'fromHex', 'setFromHex',
  'groupBy', 'withResolvers', 'timeout', 'randomUUID']);
const NEWER_GLOBALS = new Set(['structuredClone', 'AggregateError', 'WeakRef']);

let problems = 0;
function report(file, node, what) {
  problems++;
  console.log(`${file}:${node.loc.start.line}:${node.loc.start.column + 1}: ${what}`);
}

for (const file of FILES) {
  const text = readFileSync(join(root, file), 'utf8');
  let ast;
  try {
    // As a script, top-level await does not parse; the walk refuses what Chrome 78 lacks.
    ast = acorn.parse(text, { ecmaVersion: 2022, sourceType: 'script', locations: true });
  } catch (e) {
    problems++;
    console.log(`${file}: does not parse as a script: ${e.message}`);
    continue;
  }
  walk.full(ast, (node) => {
    if (node.type === 'ChainExpression') report(file, node, 'optional chaining `?.` (Chrome 80)');
    if (node.type === 'LogicalExpression' && node.operator === '??') report(file, node, '`??` (Chrome 80)');
    const privateKey = (node.type === 'PropertyDefinition' || node.type === 'MethodDefinition') &&
      node.key.type === 'PrivateIdentifier';
    if (node.type === 'PrivateIdentifier' || privateKey) report(file, node, 'private name (refused here)');
    if (node.type === 'StaticBlock') report(file, node, 'static block (Chrome 94)');
    if (node.type === 'AssignmentExpression' && /^(\?\?|\|\||&&)=$/.test(node.operator)) {
      report(file, node, `${node.operator} (Chrome 85)`);
    }
    if (node.type === 'Literal' && node.regex && /[dv]/.test(node.regex.flags)) {
      report(file, node, `regex flag /${node.regex.flags} (newer than Chrome 78?)`);
    }
    if (node.type === 'ImportExpression' || node.type === 'MetaProperty') report(file, node, 'modules');
    if (node.type === 'MemberExpression' && !node.computed && NEWER.has(node.property.name)) {
      // `x.at` only matters when it is a built-in call; report it for a look either way
      report(file, node, `.${node.property.name} (newer than Chrome 78?)`);
    }
    if (node.type === 'Identifier' && NEWER_GLOBALS.has(node.name)) report(file, node, `${node.name} (newer than Chrome 78)`);
  });
}
console.log(problems ? `${problems} problem(s)` : `ok: ${FILES.length} files run on Chrome 78`);
process.exit(problems ? 1 : 0);
