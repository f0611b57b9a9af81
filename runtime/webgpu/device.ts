/**
 * The WebGPU device: the browser's `navigator.gpu` where there is one, else Dawn (npm `webgpu`) in Node. Facts from ../shared notes: the object returned by create()
 * must stay referenced for the device's whole life (its collection crashes the process); the adapter is the
 * one Dawn picks unless `--adapter NAME` pins it (on a machine without a GPU: llvmpipe, i.e. lavapipe);
 * shader-f16 is enabled when the adapter has it.
 */
import { AmpError } from '../../src/core/errors.js';

export interface GpuContext {
  device: GPUDevice;
  adapterName: string;
  features: string[];
  f16: boolean;
  /** The largest storage buffer binding, in bytes: tensors beyond it run their ops on the CPU reference. */
  maxBinding: number;
  /** The largest 2-D texture side. */
  maxTexture: number;
  /** A software rasterizer (lavapipe/llvmpipe, SwiftShader): kernels pick their CPU-friendly forms. */
  software: boolean;
  /** That rasterizer is SwiftShader (a browser's WebGPU without a GPU). */
  swiftShader: boolean;
  /** Storage buffers one kernel may bind (parameters, inputs, outputs): kernels with more run on the CPU. */
  maxStorageBuffers: number;
  /** Validation / out-of-memory errors Dawn reported; checked (and thrown) at every readback. */
  errors: string[];
  /** Keeps Dawn's GPU object alive as long as this context. */
  readonly keepAlive: unknown;
  destroy(): void;
}

const INSTALL =
  'no WebGPU adapter: install a Vulkan driver (Debian bookworm: libvulkan1 and mesa-vulkan-drivers from bookworm-backports, as scripts/setup-system.sh does) or use --backend cpu';
let shared: Promise<GpuContext> | undefined;
let sharedKey = '';

/** The browser's WebGPU, or Dawn's in Node (which also needs its globals: GPUBufferUsage and the like). */
async function gpuEntry(adapterName?: string): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  // Loaded only in Node: a browser bundle never reaches this import.
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  let mod: { create(o: string[]): GPU; globals: object };
  try {
    mod = require('webgpu');
  } catch (e) {
    // An optional dependency: absent when installed with --omit=optional or on a platform Dawn does not ship for.
    const missing = (e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
    throw new AmpError(
      missing
        ? "the WebGPU runtime needs the optional package 'webgpu' (npm install webgpu), or use --backend cpu"
        : `the webgpu package cannot be loaded (${(e as Error).message}); use --backend cpu`,
    );
  }
  Object.assign(globalThis, mod.globals);
  return mod.create(adapterName ? [`adapter=${adapterName}`] : []);
}

async function open(adapterName?: string): Promise<GpuContext> {
  const gpu = await gpuEntry(adapterName);
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter();
  } catch {
    adapter = null;
  }
  if (!adapter && !adapterName) {
    throw new AmpError(INSTALL);
  }
  if (!adapter) throw new AmpError(`no WebGPU adapter named '${adapterName}'; ${INSTALL}`);
  const features = [...adapter.features] as string[];
  const f16 = features.includes('shader-f16');
  // The adapter's maximum buffer and binding sizes, not WebGPU's defaults (256 MiB / 128 MiB): large weights fit.
  const lim = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: f16 ? ['shader-f16' as GPUFeatureName] : [],
    requiredLimits: {
      maxBufferSize: lim.maxBufferSize,
      maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
      maxStorageBuffersPerShaderStage: lim.maxStorageBuffersPerShaderStage,
      maxTextureDimension2D: lim.maxTextureDimension2D,
    },
  });
  const info = (
    adapter as unknown as { info?: { device?: string; description?: string; vendor?: string; architecture?: string } }
  ).info;
  const name = info?.device || info?.description || info?.vendor || 'unknown adapter';
  const errors: string[] = [];
  device.addEventListener('uncapturederror', (ev) =>
    errors.push((ev as GPUUncapturedErrorEvent).error.message.split('\n')[0]),
  );
  device.lost.then((l) => {
    if (l.reason !== 'destroyed') errors.push(`device lost: ${l.message}`);
  });
  // Chromium names SwiftShader only in the architecture (vendor 'google'); Dawn in Node names lavapipe in the device.
  const named = `${name} ${info?.description ?? ''} ${info?.architecture ?? ''}`;
  const software = /llvmpipe|lavapipe|swiftshader/i.test(named);
  return {
    device,
    adapterName: name,
    features,
    f16,
    maxBinding: device.limits.maxStorageBufferBindingSize,
    maxTexture: device.limits.maxTextureDimension2D,
    software,
    swiftShader: /swiftshader/i.test(named),
    maxStorageBuffers: device.limits.maxStorageBuffersPerShaderStage,
    errors,
    keepAlive: gpu,
    destroy: () => device.destroy(),
  };
}

/** One device per process (and adapter choice): creating Dawn devices is slow on lavapipe. */
export function gpuContext(adapterName?: string): Promise<GpuContext> {
  const key = adapterName ?? '';
  if (!shared || sharedKey !== key) {
    sharedKey = key;
    shared = open(adapterName);
    shared.catch(() => {
      shared = undefined;
    });
  }
  return shared;
}
