/** Gradient rules by op type: the one place autodiff looks them up. */
import type { GradRule } from './types.js';
import { gemm } from './gemm.js';
import { matmul } from './matmul.js';
import { add, mul, relu, sigmoid, tanh, identity } from './elementwise.js';
import { reshape, globalAveragePool } from './shape.js';
import { conv } from './conv.js';
import { maxPool, averagePool } from './pool.js';
import { batchNorm } from './norm.js';

export const gradRules: Record<string, GradRule> = {
  Gemm: gemm,
  MatMul: matmul,
  Add: add,
  Sub: add,
  Mul: mul,
  Relu: relu,
  Sigmoid: sigmoid,
  Tanh: tanh,
  Identity: identity,
  Dropout: identity,
  Flatten: reshape,
  Reshape: reshape,
  GlobalAveragePool: globalAveragePool,
  Conv: conv,
  MaxPool: maxPool,
  AveragePool: averagePool,
  BatchNormalization: batchNorm,
};
export type { GradRule, GradContext } from './types.js';
