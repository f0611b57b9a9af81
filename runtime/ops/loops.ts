/** The executors' shared limit on Loop iterations (a hostile trip count must not hang a run). */
import { AmpError } from '../../src/core/errors.js';

/**
 * Iterations a Loop may run in one execution: PyTorch exports while-loops with trip count 2^63−1 and a condition,
 * so only the iterations actually run are counted; beyond this the model is refused rather than left spinning.
 */
export const MAX_LOOP_ITERATIONS = 1_000_000;

/** After `done` iterations, with the condition `cond` for the next: would a next one pass the limit? */
export const pastLoopLimit = (done: number, cond: unknown, trips: number): boolean =>
  done >= MAX_LOOP_ITERATIONS && !!cond && done < trips;

/** The refusal; `label` names the node where the caller does not (the CPU executor prefixes every kernel error). */
export const tooManyIterations = (trips: number, label?: string) =>
  new AmpError(
    `${label ? `Loop '${label}': ` : ''}Loop runs more than ${MAX_LOOP_ITERATIONS.toLocaleString('en-US')} iterations (trip count ${trips === Infinity ? 'none' : trips.toPrecision(3)}), the executors' limit`,
  );
