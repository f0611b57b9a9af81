/**
 * Topological order of a graph's nodes. Stable: an already sorted graph keeps its order exactly (so
 * re-encoding is byte-identical), otherwise Kahn's algorithm picks the earliest ready node by file order.
 * Cycles are reported naming the nodes on one: found with @dagrejs/graphlib (Tarjan) among up to
 * TARJAN_MAX unsorted nodes, and beyond that by an iterative walk (Tarjan recurses once per node on a path,
 * so a cycle of thousands of nodes would overflow the stack).
 */
import * as graphlib from '@dagrejs/graphlib';
import type { Graph, Node } from './graph.js';
import { AmpError } from '../core/errors.js';

function producerIndex(g: Graph): Map<string, number> {
  const m = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => o && m.set(o, i)));
  return m;
}

/** Indexes of the nodes each node depends on (within this graph; outer-scope reads are free). */
function deps(g: Graph): number[][] {
  const prod = producerIndex(g);
  return g.nodes.map((n) => [
    ...new Set(
      n
        .reads()
        .map((r) => prod.get(r))
        .filter((i): i is number => i !== undefined),
    ),
  ]);
}

const isSorted = (d: number[][]): boolean => d.every((ds, i) => ds.every((j) => j < i));

/** Sorts `g.nodes` in place (and its subgraphs'); throws AmpError naming the nodes on a cycle. */
export function sortGraph(g: Graph, file?: string): void {
  for (const n of g.nodes) for (const gs of n.subgraphs.values()) for (const sg of gs) sortGraph(sg, file);
  const d = deps(g);
  if (isSorted(d)) return;
  g.storedOrder = [...g.nodes];
  const n = g.nodes.length;
  const indeg = new Array<number>(n).fill(0);
  const users: number[][] = Array.from({ length: n }, () => []);
  d.forEach((ds, i) =>
    ds.forEach((j) => {
      if (j !== i) {
        indeg[i]++;
        users[j].push(i);
      } else indeg[i]++;
    }),
  );
  // Ready set as a binary min-heap on original index keeps the order stable and O(n log n).
  const heap: number[] = [];
  const push = (x: number) => {
    heap.push(x);
    for (let i = heap.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (heap[p] <= heap[i]) break;
      [heap[p], heap[i]] = [heap[i], heap[p]];
      i = p;
    }
  };
  const pop = (): number => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < heap.length && heap[l] < heap[m]) m = l;
        if (r < heap.length && heap[r] < heap[m]) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i], heap[m]];
        i = m;
      }
    }
    return top;
  };
  indeg.forEach((k, i) => k === 0 && push(i));
  const order: Node[] = [];
  while (heap.length) {
    const i = pop();
    order.push(g.nodes[i]);
    for (const u of users[i]) if (--indeg[u] === 0) push(u);
  }
  if (order.length < n)
    throw new AmpError(`graph '${g.name}' has a cycle through nodes ${describeCycle(g, d, indeg)}`, file);
  g.nodes = order;
}

const TARJAN_MAX = 1000;
/** Names the nodes of one cycle among the nodes Kahn's algorithm could not place (indeg > 0). */
function describeCycle(g: Graph, d: number[][], indeg: number[]): string {
  const left = indeg.flatMap((k, i) => (k > 0 ? [i] : []));
  let first: number[];
  if (left.length <= TARJAN_MAX) {
    const dg = new graphlib.Graph();
    left.forEach((i) => dg.setNode(String(i)));
    left.forEach((i) => d[i].forEach((j) => indeg[j] > 0 && dg.setEdge(String(j), String(i))));
    const cycles: string[][] = graphlib.alg.findCycles(dg);
    first = (cycles[0] ?? []).map(Number);
  } else {
    // Every unplaced node depends on another unplaced node: walking those dependencies must revisit one.
    const seen = new Map<number, number>(),
      path: number[] = [];
    let i = left[0];
    while (!seen.has(i)) {
      seen.set(i, path.length);
      path.push(i);
      i = d[i].find((j) => indeg[j] > 0)!;
    }
    first = path.slice(seen.get(i));
  }
  const names = first.map((i) => `'${g.nodes[i].label}'`).sort();
  return names.length > 12 ? `${names.slice(0, 12).join(', ')} and ${names.length - 12} more` : names.join(', ');
}
