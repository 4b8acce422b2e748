/**
 * The BPE merge loop shared by Hugging Face BPE and SentencePiece BPE, in O(n log n) for n symbols:
 * symbols sit in a doubly linked list, and every adjacent pair that has a merge waits in a binary
 * heap ordered by (priority, position of its left symbol). Popping the best pair merges it and
 * offers the two pairs it forms with its neighbours; a popped pair whose symbols have changed since
 * it was offered is skipped. This is how tokenizers' `Word::merge_all` and sentencepiece's
 * `bpe_model.cc` Encode work, with the same order: lowest priority first, leftmost on ties.
 */

/** What merging two adjacent symbols gives, and when: lower `priority` merges first. */
export type PairMerge<S> = { readonly priority: number; readonly merged: S };

/** A min-heap of pending merges keyed by (priority, left position), in parallel arrays. */
type Heap<S> = { priority: number[]; left: number[]; merged: S[] };

const before = <S>(h: Heap<S>, i: number, j: number) =>
  h.priority[i] < h.priority[j] || (h.priority[i] === h.priority[j] && h.left[i] < h.left[j]);

function swap<S>(h: Heap<S>, i: number, j: number): void {
  [h.priority[i], h.priority[j]] = [h.priority[j], h.priority[i]];
  [h.left[i], h.left[j]] = [h.left[j], h.left[i]];
  [h.merged[i], h.merged[j]] = [h.merged[j], h.merged[i]];
}

function push<S>(h: Heap<S>, priority: number, left: number, merged: S): void {
  h.priority.push(priority);
  h.left.push(left);
  h.merged.push(merged);
  for (let i = h.priority.length - 1; i > 0;) {
    const parent = (i - 1) >> 1;
    if (!before(h, i, parent)) break;
    swap(h, i, parent);
    i = parent;
  }
}

/** Removes the top entry into `out` (index 0 of the arrays stays the top). */
function pop<S>(h: Heap<S>): { priority: number; left: number; merged: S } {
  const top = { priority: h.priority[0], left: h.left[0], merged: h.merged[0] };
  const last = h.priority.length - 1;
  swap(h, 0, last);
  h.priority.pop();
  h.left.pop();
  h.merged.pop();
  for (let i = 0;;) {
    const l = 2 * i + 1, r = l + 1;
    let best = i;
    if (l < last && before(h, l, best)) best = l;
    if (r < last && before(h, r, best)) best = r;
    if (best === i) break;
    swap(h, i, best);
    i = best;
  }
  return top;
}

/**
 * Merges `symbols` until no adjacent pair has a merge. `pair(a, b)` says what a pair becomes (or
 * undefined); `frozen[i]` symbols never merge (SentencePiece's user-defined symbols). Returns the
 * final symbols in order. `same(x, y)` compares merge results, to recognise a stale heap entry.
 */
export function mergeAll<S>(
  symbols: readonly S[],
  pair: (a: S, b: S) => PairMerge<S> | undefined,
  same: (x: S, y: S) => boolean = (x, y) => x === y,
  frozen?: (i: number) => boolean,
): S[] {
  const n = symbols.length;
  if (n < 2) return [...symbols];
  const sym = [...symbols];
  const alive = new Uint8Array(n).fill(1);
  const prev = new Int32Array(n), next = new Int32Array(n);
  for (let i = 0; i < n; i++) [prev[i], next[i]] = [i - 1, i + 1 < n ? i + 1 : -1];
  const isFrozen = new Uint8Array(n);
  if (frozen) { for (let i = 0; i < n; i++) isFrozen[i] = frozen(i) ? 1 : 0; }
  const heap: Heap<S> = { priority: [], left: [], merged: [] };
  const offer = (left: number) => {
    const right = left < 0 ? -1 : next[left];
    if (right < 0 || isFrozen[left] || isFrozen[right]) return;
    const m = pair(sym[left], sym[right]);
    if (m !== undefined) push(heap, m.priority, left, m.merged);
  };
  for (let i = 0; i + 1 < n; i++) offer(i);
  while (heap.priority.length > 0) {
    const top = pop(heap);
    const left = top.left, right = next[left];
    if (!alive[left] || right < 0) continue;
    const now = pair(sym[left], sym[right]); // the pair there today must still make the same symbol
    if (now === undefined || !same(now.merged, top.merged)) continue;
    sym[left] = top.merged;
    alive[right] = 0;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    offer(prev[left]);
    offer(left);
  }
  const out: S[] = [];
  for (let i = 0; i >= 0; i = next[i]) out.push(sym[i]);
  return out;
}
