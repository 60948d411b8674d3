// The admission patch is the diff between the pod as received and the mutated copy (fast-json-patch's
// `compare`), so the patch cannot drift from the mutation. One rewrite keeps it shaped like Dapr's: an `add` at
// the index just past an array's end becomes `/-` ("append"), which is what Dapr sends for the sidecar
// container, volumes and env vars. Adds to arrays or maps the pod did not have arrive whole (`add
// /spec/volumes [...]`), which is Dapr's "initialise if absent".
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';

export type { Operation };

export function diffPatch(original: object, mutated: object): Operation[] {
  const ops = jsonpatch.compare(original, mutated);
  const lengths = new Map<string, number>();
  for (const op of ops) {
    if (op.op !== 'add') continue;
    const slash = op.path.lastIndexOf('/');
    const last = op.path.slice(slash + 1);
    if (!/^\d+$/.test(last)) continue;
    const parent = op.path.slice(0, slash);
    let length = lengths.get(parent);
    if (length === undefined) {
      const target = valueAt(original, parent);
      if (!Array.isArray(target)) continue;
      length = target.length;
    }
    if (Number(last) !== length) continue;
    op.path = `${parent}/-`;
    lengths.set(parent, length + 1);
  }
  return ops;
}

function valueAt(document: unknown, pointer: string): unknown {
  if (pointer === '') return document;
  let node = document;
  for (const raw of pointer.slice(1).split('/')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

/** Applies a patch to a deep copy (for tests and the golden fixtures: proves the patch does what it claims). */
export function applyPatch<T>(document: T, ops: Operation[]): T {
  return jsonpatch.applyPatch(structuredClone(document), ops, true, false).newDocument;
}
