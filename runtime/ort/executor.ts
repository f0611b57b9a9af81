/**
 * onnxruntime-node as a backend (`--backend ort`): to compare the converted model as a production runtime
 * runs it (Polygraphy's use) — not as the fp16 oracle, since its CPU provider computes fp16 ops its own way.
 * onnxruntime-node is not a dependency of this package: it is loaded when asked for, with a one-line message
 * naming it when it is not installed. Outputs only (no intermediates), synchronous-looking like the others.
 */
import { HostCarry } from '../carry.js';
import type { Model } from '../../src/ir/graph.js';
import type { RTensor } from '../../src/ir/rtensor.js';
import type { TypedArray } from '../../src/core/dtype.js';
import { AmpError } from '../../src/core/errors.js';
import { encodeModel } from '../../src/onnx/io.js';
import type { RunOptions } from '../cpu/executor.js';
import { ORT_TYPE, FROM_ORT } from './types.js';

interface OrtTensor {
  type: string;
  data: unknown;
  dims: readonly number[];
}
interface OrtModule {
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => OrtTensor;
  InferenceSession: {
    create(
      model: Uint8Array,
      o?: object,
    ): Promise<{
      run(f: Record<string, OrtTensor>, names?: string[]): Promise<Record<string, OrtTensor>>;
      release(): Promise<void>;
    }>;
  };
}

export class OrtExecutor {
  readonly name = 'ort';
  private constructor(
    private ort: OrtModule,
    private session: Awaited<ReturnType<OrtModule['InferenceSession']['create']>>,
    readonly model: Model,
  ) {}
  static async create(model: Model): Promise<OrtExecutor> {
    let ort: OrtModule;
    try {
      ort = (await import('onnxruntime-node' as string)) as OrtModule;
    } catch {
      throw new AmpError(
        "the ort backend needs the package 'onnxruntime-node' (npm install onnxruntime-node)",
        model.file,
      );
    }
    try {
      // External data: onnxruntime resolves it against the model's directory, which bytes do not have.
      if ([...model.graph.allGraphs()].some((g) => [...g.initializers.values()].some((t) => t.external)))
        throw new Error('models with external data: repack --inline first');
      // Its logger writes model text (node and value names) to the terminal unescaped: fatal messages only; errors
      // reach the user through AmpError, made printable.
      return new OrtExecutor(
        ort,
        await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1, logSeverityLevel: 4 }),
        model,
      );
    } catch (e) {
      throw new AmpError(
        `onnxruntime cannot load the model: ${String((e as Error).message).split('\n')[0]}`,
        model.file,
      );
    }
  }
  private carried = new HostCarry();
  /** A value carried for input `name` (RunOptions.carry). */
  async readCarried(name: string): Promise<RTensor> {
    return this.carried.read(name);
  }
  async run(feeds: Record<string, RTensor>, opts: RunOptions = {}): Promise<Record<string, RTensor>> {
    const graphOuts = this.model.graph.outputs;
    const res = await this.runOnce(
      this.carried.feeds(feeds),
      this.carried.outputs(opts.outputs, graphOuts, opts.carry),
    );
    return this.carried.keep(res, opts.outputs, graphOuts, opts.carry);
  }
  private async runOnce(feeds: Record<string, RTensor>, outputs?: string[]): Promise<Record<string, RTensor>> {
    const inputs = Object.fromEntries(
      Object.entries(feeds).map(([k, t]) => {
        const type = ORT_TYPE[t.dtype];
        if (!type) throw new AmpError(`input '${k}': onnxruntime's JS tensors do not hold ${t.dtype}`, this.model.file);
        // onnxruntime-node refuses views of a SharedArrayBuffer ("Invalid argument"), where large payloads live.
        const data = !Array.isArray(t.data) && t.data.buffer instanceof SharedArrayBuffer ? t.data.slice() : t.data;
        return [k, new this.ort.Tensor(type, data, t.dims)];
      }),
    );
    let out: Record<string, OrtTensor>;
    try {
      out = await this.session.run(inputs, outputs);
    } catch (e) {
      throw new AmpError(`onnxruntime failed: ${String((e as Error).message).split('\n')[0]}`, this.model.file);
    }
    return Object.fromEntries(
      Object.entries(out).map(([k, t]) => {
        let data = t.data as TypedArray | string[];
        // float16 comes back as its Uint16Array bits, or as a Float16Array where the runtime has one.
        if (t.type === 'float16' && !(data instanceof Uint16Array))
          data = new Uint16Array((data as unknown as { buffer: ArrayBuffer }).buffer);
        return [k, { dtype: FROM_ORT[t.type], dims: [...t.dims], data }];
      }),
    );
  }
  dispose(): void {
    void this.session.release();
  }
}
