// One loaded model: an ONNX Runtime session checked against its card, and `detect` = letterbox, run, decode.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type * as Ort from 'onnxruntime-node';
import type { Detection, InspectionImage } from '../../contracts/messages';
import { letterboxImage, type PrepareOptions, type PreparedImage } from './letterbox';
import { ModelError } from './model-card';
import type { ModelRef } from './model-source';
import { decodeDetections, type DecodeOptions } from './yolo-decode';

export interface SessionOptions {
  /** ONNX Runtime threads inside one inference (intraOpNumThreads). */
  threads: number;
}

/**
 * ONNX Runtime, loaded on first use: it is an optional peer of the palette (its install is ~300 MB), so the
 * other nodes load without it and vision-detect says what to install.
 */
let runtime: typeof Ort | undefined;
export function onnxRuntime(): typeof Ort {
  if (!runtime) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      runtime = require('onnxruntime-node') as typeof Ort;
    } catch (err) {
      throw new Error(
        `vision-detect needs onnxruntime-node, which is not installed: run "npm install onnxruntime-node@~1.31" in the Node-RED user directory (${(err as Error).message.split('\n')[0]})`,
      );
    }
  }
  return runtime;
}

const shapeText = (shape: ReadonlyArray<number | string>) => `[${shape.join(', ')}]`;

export class Detector {
  private constructor(
    readonly ref: ModelRef,
    private readonly session: Ort.InferenceSession,
  ) {}

  get label(): string {
    return this.ref.label;
  }

  /**
   * Reads the file, checks its sha256 when the source gives one, opens a session, checks its input and
   * output against the card and runs it once on a blank image, so a model that cannot work fails here,
   * while the previous one is still running, and never on an inspection.
   */
  static async load(ref: ModelRef, o: SessionOptions): Promise<Detector> {
    const { card, label } = ref;
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(ref.file);
    } catch (err) {
      throw new ModelError(label, `cannot read ${ref.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
    }
    if (ref.sha256) {
      const actual = crypto.createHash('sha256').update(bytes).digest('hex');
      if (actual !== ref.sha256) throw new ModelError(label, `${ref.file} has sha256 ${actual}, expected ${ref.sha256} (corrupt or half-written file)`);
    }
    let session: Ort.InferenceSession;
    try {
      session = await onnxRuntime().InferenceSession.create(bytes, {
        intraOpNumThreads: o.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw new ModelError(label, `${ref.file} is not a model ONNX Runtime can load (corrupt file?): ${(err as Error).message}`, err);
    }
    try {
      const expected = [1, 3, card.input.height, card.input.width];
      const input = session.inputMetadata.find((m) => m.name === card.input.name);
      if (!input) throw new ModelError(label, `has no input "${card.input.name}" (its inputs: ${session.inputNames.join(', ')})`);
      if (input.isTensor) {
        if (input.type !== 'float32') throw new ModelError(label, `input "${input.name}" takes ${input.type}, this node feeds float32`);
        const fixed = input.shape.length === 4 && input.shape.every((d, i) => typeof d !== 'number' || d === expected[i]);
        if (!fixed) throw new ModelError(label, `wrong input shape: the model's input "${input.name}" is ${shapeText(input.shape)}, its metadata says ${shapeText(expected)}`);
      }
      if (!session.outputNames.includes(card.output.name)) throw new ModelError(label, `has no output "${card.output.name}" (its outputs: ${session.outputNames.join(', ')})`);
      const detector = new Detector(ref, session);
      const blank = new Float32Array(3 * card.input.width * card.input.height).fill(card.input.pad[0] / 255);
      let out: Ort.Tensor;
      try {
        out = await detector.run(blank);
      } catch (err) {
        throw new ModelError(label, `fails on a blank ${card.input.width}x${card.input.height} input: ${(err as Error).message}`, err);
      }
      const rows = out.dims[1];
      if (out.dims.length !== 3 || rows !== 4 + card.classes.length) {
        throw new ModelError(label, `output "${card.output.name}" is ${shapeText(out.dims)}, expected [1, ${4 + card.classes.length}, anchors] for ${card.classes.length} classes (${card.classes.join(', ')})`);
      }
      return detector;
    } catch (err) {
      await session.release().catch(() => undefined);
      throw err;
    }
  }

  /** Raw inference on a prepared tensor (NCHW float32 of the card's input size). */
  async run(tensor: Float32Array): Promise<Ort.Tensor> {
    const { input, output } = this.ref.card;
    const result = await this.session.run({ [input.name]: new (onnxRuntime().Tensor)('float32', tensor, [1, 3, input.height, input.width]) }, [output.name]);
    return result[output.name]!;
  }

  /** Letterbox with sharp, to the card's input size and pad. */
  prepare(image: InspectionImage, o: PrepareOptions): Promise<PreparedImage> {
    return letterboxImage(image, this.ref.card.input, o);
  }

  /** Detections on a prepared image, boxes in the original image's pixels. */
  async infer(prepared: PreparedImage, o: DecodeOptions): Promise<Detection[]> {
    let out: Ort.Tensor;
    try {
      out = await this.run(prepared.tensor);
    } catch (err) {
      throw new ModelError(this.label, `inference failed: ${(err as Error).message}`, err);
    }
    return decodeDetections(out.data as Float32Array, out.dims, this.ref.card.classes, prepared.geometry, o);
  }

  async detect(image: InspectionImage, prepare: PrepareOptions, decode: DecodeOptions): Promise<Detection[]> {
    return this.infer(await this.prepare(image, prepare), decode);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
