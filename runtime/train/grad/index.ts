/** Gradient rules by op type: the one place autodiff looks them up. */
import type { GradRule } from './types.js';
import { gemm } from './gemm.js';
import { matmul } from './matmul.js';
import { add, mul, relu, sigmoid, tanh, identity } from './elementwise.js';

export const gradRules: Record<string, GradRule> = {
  Gemm: gemm, MatMul: matmul, Add: add, Sub: add, Mul: mul, Relu: relu, Sigmoid: sigmoid, Tanh: tanh,
  Identity: identity, Dropout: identity,
};
export type { GradRule, GradContext } from './types.js';
