/** Every transition of the loss scaler's state machine. */
import { describe, it, expect } from 'vitest';
import { LossScaler } from '../runtime/train/loss-scaler.js';

const ok = () => [Float32Array.from([2, -4])];
const bad = (v: number) => [Float32Array.from([1, v])];

describe('LossScaler (GradScaler semantics)', () => {
  it('starts at 2^16 and unscales clean gradients in fp32', () => {
    const s = new LossScaler();
    expect(s.scale).toBe(65536);
    const g = [Float32Array.from([65536, -32768])];
    const d = s.unscaleAndUpdate(g);
    expect(d).toMatchObject({ skip: false, scale: 65536 });
    expect(Array.from(g[0])).toEqual([1, -0.5]);
    expect(s.state).toMatchObject({ growthTracker: 1, steps: 1, skippedSteps: 0 });
  });
  it('on inf or NaN: skips, halves the scale, resets the growth tracker, leaves the gradients untouched', () => {
    for (const v of [Infinity, -Infinity, NaN]) {
      const s = new LossScaler({ growthInterval: 3 });
      s.unscaleAndUpdate(ok());
      const g = bad(v);
      const d = s.unscaleAndUpdate(g);
      expect(d.skip).toBe(true);
      expect(s.scale).toBe(32768);
      expect(s.state).toMatchObject({ growthTracker: 0, skippedSteps: 1, steps: 2 });
      expect(g[0][0]).toBe(1);
    }
  });
  it('doubles after growthInterval consecutive clean steps, and only then', () => {
    const s = new LossScaler({ growthInterval: 3, initScale: 8 });
    s.unscaleAndUpdate(ok());
    s.unscaleAndUpdate(ok());
    expect(s.scale).toBe(8);
    s.unscaleAndUpdate(ok());
    expect(s.scale).toBe(16);
    expect(s.state.growthTracker).toBe(0);
    // A skip in the middle restarts the count.
    s.unscaleAndUpdate(ok());
    s.unscaleAndUpdate(bad(Infinity));
    expect(s.scale).toBe(8);
    s.unscaleAndUpdate(ok());
    s.unscaleAndUpdate(ok());
    expect(s.scale).toBe(8);
    s.unscaleAndUpdate(ok());
    expect(s.scale).toBe(16);
  });
  it('default growth interval is 2000 steps', () => {
    const s = new LossScaler({ initScale: 1 });
    for (let i = 0; i < 1999; i++) s.unscaleAndUpdate(ok());
    expect(s.scale).toBe(1);
    s.unscaleAndUpdate(ok());
    expect(s.scale).toBe(2);
  });
  it('clips the global norm after unscaling', () => {
    const s = new LossScaler({ initScale: 2, maxGradNorm: 1 });
    const g = [Float32Array.from([6, 8])]; // unscaled [3, 4], norm 5
    const d = s.unscaleAndUpdate(g);
    expect(d.clipped).toBe(true);
    expect(Math.hypot(g[0][0], g[0][1])).toBeCloseTo(1, 5);
  });
  it('disabled: scale 1, never skips (what AMP without loss scaling does)', () => {
    const s = new LossScaler({ enabled: false });
    expect(s.scale).toBe(1);
    expect(s.unscaleAndUpdate(bad(Infinity)).skip).toBe(false);
    expect(s.state.skippedSteps).toBe(0);
  });
  it('serializes and restores its state, history included', () => {
    const s = new LossScaler({ growthInterval: 2 });
    s.unscaleAndUpdate(ok());
    s.unscaleAndUpdate(bad(NaN));
    s.unscaleAndUpdate(ok());
    const r = LossScaler.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    expect(r.state).toEqual(s.state);
    r.unscaleAndUpdate(ok());
    expect(r.scale).toBe(65536); // 2^16 → skip → 2^15 → two clean steps → 2^16
    expect(() => new LossScaler({ backoffFactor: 2 })).toThrow(/backoffFactor/);
  });
});
