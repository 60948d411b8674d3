// The admission patch is the diff between the pod as received and the mutated copy (fast-json-patch's
// `compare`), so the patch cannot drift from the mutation. One rewrite keeps it shaped like Dapr's: an `add` at
// the index just past an array's end becomes `/-` ("append"), which is what Dapr sends for the sidecar
// container, volumes and env vars. Adds to arrays or maps the pod did not have arrive whole (`add
// /spec/volumes [...]`), which is Dapr's "initialise if absent".
//
// Cost: `compare` deep-copies every value it adds or replaces (a JSON round trip), and the daprd container it
// adds is most of the patch — the copy was 40% of building an answer. The mutation shares every untouched branch
// with the pod and builds every new value afresh, so the copy protects nothing here: the diff runs over a view
// of the mutated copy in which each value `compare` would add whole is a stand-in, and each stand-in in the
// resulting operations is swapped back for the value itself. The stand-ins are symbols: `compare` copies
// primitives (and symbols) as they are, so nothing is deep-copied at all — an object stand-in still went through
// its JSON round trip — and no JSON value can equal a symbol. Which operations, their order and their paths stay
// `compare`'s; `plainDiffPatch` is the same diff without stand-ins, and the tests hold the two equal.
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';

export type { Operation };

export function diffPatch(original: object, mutated: object): Operation[] {
  const standIns: StandIns = { values: [], appends: [] };
  const ops = jsonpatch.compare(original, withStandIns(original, mutated, standIns) as object);
  for (const op of ops) {
    if (op.op !== 'add' && op.op !== 'replace') continue;
    const value: unknown = op.value;
    if (typeof value !== 'symbol') continue;
    const n = standInNumbers.get(value)!;
    op.value = standIns.values[n];
    if (standIns.appends[n]) op.path = `${op.path.slice(0, op.path.lastIndexOf('/'))}/-`;
  }
  return ops;
}

/** The same diff with every added value deep-copied by the library (the reference `diffPatch` must equal). */
export function plainDiffPatch(original: object, mutated: object): Operation[] {
  return appendsAsDash(original, jsonpatch.compare(original, mutated));
}

// JSON text of values that do not change once built (the cached daprd containers), so a patch adding one again
// is written from its text rather than serialised again.
const knownJson = new WeakMap<object, string>();

/** Records the JSON text of `value`, which must not be modified afterwards; returns the text. */
export function rememberJson(value: object): string {
  const json = JSON.stringify(value);
  knownJson.set(value, json);
  return json;
}

/**
 * `JSON.stringify(ops)`, byte for byte, with the values recorded by `rememberJson` written from their text. For
 * operations as `diffPatch` makes them (members op, path, value in that order).
 */
export function patchJson(ops: readonly Operation[]): string {
  let known: string[] | undefined;
  for (let i = 0; i < ops.length; i++) {
    const value: unknown = (ops[i] as { value?: unknown }).value;
    const json = typeof value === 'object' && value !== null ? knownJson.get(value) : undefined;
    if (json !== undefined) (known ??= [])[i] = json;
  }
  if (known === undefined) return JSON.stringify(ops);
  const parts = ops.map((op, i) => {
    const json = known[i];
    return json === undefined ? JSON.stringify(op) : `{"op":${JSON.stringify(op.op)},"path":${JSON.stringify(op.path)},"value":${json}}`;
  });
  return `[${parts.join(',')}]`;
}

/** Applies a patch to a deep copy (for tests and the golden fixtures: proves the patch does what it claims). */
export function applyPatch<T>(document: T, ops: Operation[]): T {
  return jsonpatch.applyPatch(structuredClone(document), ops, true, false).newDocument;
}

// Stand-in n is standInSymbols[n]; the same symbols serve every diff (each diff is synchronous and numbers its
// stand-ins from 0), so none is made per request once there are enough.
const standInSymbols: symbol[] = [];
const standInNumbers = new Map<symbol, number>();

interface StandIns {
  values: unknown[];
  /** Whether stand-in n is an element past the end of an array the pod had: its `add` becomes "/-". */
  appends: boolean[];
}

/**
 * `mutated`, with each value `compare` would add or replace whole replaced by stand-in n, a symbol (the value
 * itself goes to `standIns.values[n]`): objects new or of another kind than before, and every element past the
 * end of an array (even a string: that is how appends are recognised without looking the array up again). It
 * descends exactly where `compare` descends: into members both sides have as objects of the same kind (array or
 * not) that are not the same object.
 */
function withStandIns(original: unknown, mutated: unknown, standIns: StandIns): unknown {
  if (original === mutated) return mutated;
  if (Array.isArray(mutated)) {
    const before = original as unknown[];
    let copy: unknown[] | undefined;
    for (let i = 0; i < mutated.length; i++) {
      const value: unknown = mutated[i];
      let replacement: unknown;
      if (i >= before.length) {
        if (value === undefined) continue;
        replacement = standIn(value, standIns, true);
      } else {
        replacement = memberStandIn(before[i], value, standIns);
        if (replacement === value) continue;
      }
      (copy ??= mutated.slice())[i] = replacement;
    }
    return copy ?? mutated;
  }
  const before = original as Record<string, unknown>;
  const after = mutated as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key in after) {
    const value = after[key];
    if (typeof value !== 'object' || value === null) continue;
    const old = before[key];
    if (old === value) continue;
    let replacement: unknown;
    if (!Object.hasOwn(before, key)) replacement = standIn(value, standIns, false);
    else {
      replacement = memberStandIn(old, value, standIns);
      if (replacement === value) continue;
    }
    (copy ??= { ...after })[key] = replacement;
  }
  return copy ?? mutated;
}

/** A member both sides have, `value` an object (or an array element in range, of any kind). */
function memberStandIn(old: unknown, value: unknown, standIns: StandIns): unknown {
  if (old === value || typeof value !== 'object' || value === null) return value;
  if (typeof old === 'object' && old !== null && Array.isArray(old) === Array.isArray(value)) return withStandIns(old, value, standIns);
  return standIn(value, standIns, false);
}

function standIn(value: unknown, standIns: StandIns, append: boolean): symbol {
  const n = standIns.values.length;
  standIns.values.push(value);
  standIns.appends.push(append);
  let symbol = standInSymbols[n];
  if (symbol === undefined) {
    symbol = Symbol(`tapr-stand-in-${n}`);
    standInSymbols[n] = symbol;
    standInNumbers.set(symbol, n);
  }
  return symbol;
}

function appendsAsDash(original: object, ops: Operation[]): Operation[] {
  const lengths = new Map<string, number>();
  for (const op of ops) {
    if (op.op !== 'add') continue;
    const slash = op.path.lastIndexOf('/');
    if (!isIndex(op.path, slash + 1)) continue;
    const parent = op.path.slice(0, slash);
    let length = lengths.get(parent);
    if (length === undefined) {
      const target = valueAt(original, parent);
      if (!Array.isArray(target)) continue;
      length = target.length;
    }
    if (Number(op.path.slice(slash + 1)) !== length) continue;
    op.path = `${parent}/-`;
    lengths.set(parent, length + 1);
  }
  return ops;
}

function isIndex(path: string, from: number): boolean {
  if (from >= path.length) return false;
  for (let i = from; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function valueAt(document: unknown, pointer: string): unknown {
  if (pointer === '') return document;
  let node = document;
  for (const raw of pointer.slice(1).split('/')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[raw.includes('~') ? raw.replace(/~1/g, '/').replace(/~0/g, '~') : raw];
  }
  return node;
}
