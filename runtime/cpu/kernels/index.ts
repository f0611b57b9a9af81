/** The CPU kernel registry: op type → kernel. The executor looks ops up here and nowhere else. */
import { register } from '../../../src/core/registry.js';
import type { Kernel } from './types.js';
import { unaryKernels } from './unary.js';
import { binaryKernels } from './binary.js';
import { matmulKernels } from './matmul.js';
import { convKernels } from './conv.js';
import { poolKernels } from './pool.js';
import { reduceKernels } from './reduce.js';
import { normKernels } from './norm.js';
import { shapeKernels } from './shape.js';
import { castKernels } from './cast.js';
import { constantKernels } from './constant.js';
import { cumsumKernels } from './cumsum.js';
import { triluKernels } from './trilu.js';
import { unpoolKernels } from './unpool.js';
import { quantizeKernels } from './quantize.js';
import { selectKernels } from './select.js';
import { linalgKernels } from './linalg.js';
import { gridSampleKernels } from './gridsample.js';
import { detectionKernels } from './detection.js';
import { lossKernels } from './loss.js';
import { spectralKernels } from './spectral.js';
import { resizeKernels } from './resize.js';
import { rnnKernels } from './rnn.js';
import { controlKernels } from './control.js';
import { miscKernels } from './misc.js';
import { attentionKernels } from './attention.js';
import { contribKernels } from './contrib.js';

export const cpuKernels: Record<string, Kernel> = register(
  'CPU kernels',
  unaryKernels,
  binaryKernels,
  matmulKernels,
  convKernels,
  poolKernels,
  reduceKernels,
  normKernels,
  shapeKernels,
  castKernels,
  constantKernels,
  cumsumKernels,
  triluKernels,
  unpoolKernels,
  quantizeKernels,
  selectKernels,
  linalgKernels,
  gridSampleKernels,
  detectionKernels,
  lossKernels,
  spectralKernels,
  resizeKernels,
  rnnKernels,
  controlKernels,
  miscKernels,
  attentionKernels,
  contribKernels,
);
export const claimedOps = (): string[] => Object.keys(cpuKernels).sort();
export type { Kernel, KernelContext } from './types.js';
