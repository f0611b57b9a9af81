/**
 * Topological order of a graph's nodes. Stable: an already sorted graph keeps its order exactly (so
 * re-encoding is byte-identical), otherwise Kahn's algorithm picks the earliest ready node by file order.
 * Cycles are found with @dagrejs/graphlib (Tarjan) and reported naming the nodes on them.
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
  return g.nodes.map((n) => [...new Set(n.reads().map((r) => prod.get(r)).filter((i): i is number => i !== undefined))]);
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
  d.forEach((ds, i) => ds.forEach((j) => { if (j !== i) { indeg[i]++; users[j].push(i); } else indeg[i]++; }));
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
        const l = 2 * i + 1, r = l + 1;
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
  if (order.length < n) throw new AmpError(`graph '${g.name}' has a cycle through nodes ${describeCycle(g, d)}`, file);
  g.nodes = order;
}

function describeCycle(g: Graph, d: number[][]): string {
  const dg = new graphlib.Graph();
  g.nodes.forEach((_, i) => dg.setNode(String(i)));
  d.forEach((ds, i) => ds.forEach((j) => dg.setEdge(String(j), String(i))));
  const cycles = graphlib.alg.findCycles(dg);
  const selfLoops = d.flatMap((ds, i) => (ds.includes(i) ? [[String(i)]] : []));
  const first = cycles[0] ?? selfLoops[0] ?? [];
  return first.map((i: string) => `'${g.nodes[Number(i)].label}'`).sort().join(', ');
}
