// vision-detect config: the one source of truth for the editor defaults and runtime validation.
export interface VisionDetectConfig {
  name?: string;
  /**
   * `name`: a model installed by the agent, `<models dir>/<model>/current.json` (hot-swapped when the agent
   * installs a new version); `file`: a model.onnx (or its folder) with model.json beside it.
   * @default "name"
   */
  source: 'name' | 'file';
  /**
   * The model's name (source `name`) or the path of model.onnx or its folder (source `file`).
   * @minLength 1
   * @default "defect-detector"
   */
  model: string;
  /** Models folder for source `name`; empty = the LINESIGHT_MODELS_DIR environment variable. */
  modelsDir?: string;
  /**
   * Lowest class score reported; 0 = the model's own threshold (model.json `thresholds.confidence`).
   * @minimum 0
   * @maximum 1
   * @default 0
   */
  confidence: number;
  /**
   * Overlap (IoU) above which a box of the same class is dropped as a duplicate; 0 = the model's (`thresholds.iou`).
   * @minimum 0
   * @maximum 1
   * @default 0
   */
  iou: number;
  /**
   * Most detections reported per image (the most confident).
   * @TJS-type integer
   * @minimum 1
   * @maximum 1000
   * @default 100
   */
  maxDetections: number;
  /**
   * ONNX Runtime threads per inference (intraOpNumThreads).
   * @TJS-type integer
   * @minimum 1
   * @maximum 64
   * @default 1
   */
  threads: number;
  /**
   * Inspections in flight at once (decoding, letterbox and inference).
   * @TJS-type integer
   * @minimum 1
   * @maximum 64
   * @default 2
   */
  concurrency: number;
  /**
   * Inspections that may wait for a free slot; beyond it an inspection is refused at once with an error
   * (camera-intake's back-pressure holds, memory stays bounded).
   * @TJS-type integer
   * @minimum 0
   * @maximum 100000
   * @default 16
   */
  maxQueued: number;
  /**
   * Largest input image in pixels (width x height); bigger images fail before they are decoded.
   * @TJS-type integer
   * @minimum 1
   * @default 100000000
   */
  maxPixels: number;
  /**
   * How often current.json is read in case a file-system event was missed (source `name`).
   * @TJS-type integer
   * @minimum 1
   * @maximum 3600
   * @default 10
   */
  pollSeconds: number;
}
