// What the node needs to know about a detection model, read from its model.json (beside model.onnx, or the
// `metadata` of the agent's current.json), with an error naming the model and the field when it is unusable.

export interface ModelCard {
  name: string;
  version: string;
  classes: string[];
  input: { name: string; width: number; height: number; pad: [number, number, number] };
  output: { name: string };
  thresholds: { confidence: number; iou: number };
}

/** A model that cannot run: the message names the model and the reason. */
export class ModelError extends Error {
  constructor(
    readonly model: string,
    reason: string,
    cause?: unknown,
  ) {
    super(`model ${model}: ${reason}`, cause !== undefined ? { cause } : undefined);
    this.name = 'ModelError';
  }
}

/** `name@version`, what every inspection's modelVersion carries. */
export const modelLabel = (card: { name: string; version: string }): string => `${card.name}@${card.version}`;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFraction = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;

/** Checks a model.json and returns the card; `where` names the file in errors. */
export function parseModelCard(json: unknown, where: string): ModelCard {
  const fail = (model: string, reason: string): never => {
    throw new ModelError(model, `${reason} (${where})`);
  };
  if (!isObject(json)) return fail(where, 'model metadata is not a JSON object');
  const name = typeof json.name === 'string' && json.name ? json.name : fail('?', 'metadata has no "name"');
  const version = typeof json.version === 'string' && json.version ? json.version : fail(name, 'metadata has no "version"');
  const label = `${name}@${version}`;
  if (json.format !== undefined && json.format !== 'onnx') fail(label, `format is "${String(json.format)}", this node runs ONNX models`);
  const classes = json.classes;
  if (!Array.isArray(classes) || classes.length === 0 || !classes.every((c) => typeof c === 'string' && c)) fail(label, '"classes" must be a non-empty list of class names');
  const input = isObject(json.input) ? json.input : fail(label, 'metadata has no "input"');
  const shape = input.shape;
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) fail(label, `input.shape must be [1, 3, height, width], got ${JSON.stringify(shape)}`);
  const [batch, channels, height, width] = shape as number[];
  if (batch !== 1 || channels !== 3) fail(label, `input.shape ${JSON.stringify(shape)} is not one RGB image [1, 3, height, width] (NCHW)`);
  if (input.layout !== undefined && input.layout !== 'NCHW') fail(label, `input.layout "${String(input.layout)}" is not NCHW`);
  if (input.color !== undefined && input.color !== 'RGB') fail(label, `input.color "${String(input.color)}" is not RGB`);
  if (input.range !== undefined && JSON.stringify(input.range) !== '[0,1]') fail(label, `input.range ${JSON.stringify(input.range)} is not [0, 1]`);
  const letterbox = isObject(input.letterbox) ? input.letterbox : {};
  const pad = letterbox.pad ?? [114, 114, 114];
  if (!Array.isArray(pad) || pad.length !== 3 || !pad.every((p) => Number.isInteger(p) && p >= 0 && p <= 255)) fail(label, `input.letterbox.pad must be three values 0..255, got ${JSON.stringify(pad)}`);
  const output = isObject(json.output) ? json.output : {};
  const thresholds = isObject(json.thresholds) ? json.thresholds : {};
  const confidence = thresholds.confidence ?? 0.25;
  const iouThreshold = thresholds.iou ?? 0.45;
  if (!isFraction(confidence)) fail(label, `thresholds.confidence must be 0..1, got ${JSON.stringify(confidence)}`);
  if (!isFraction(iouThreshold)) fail(label, `thresholds.iou must be 0..1, got ${JSON.stringify(iouThreshold)}`);
  return {
    name,
    version,
    classes: classes as string[],
    input: { name: typeof input.name === 'string' && input.name ? input.name : 'images', width: width!, height: height!, pad: pad as [number, number, number] },
    output: { name: typeof output.name === 'string' && output.name ? output.name : 'output0' },
    thresholds: { confidence: confidence as number, iou: iouThreshold as number },
  };
}
