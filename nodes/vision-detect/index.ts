// vision-detect's public face: the detection core (pre-processing, decoding, model loading) for benchmarks,
// programs and other nodes.
export { Detector, type SessionOptions } from './detector';
export { letterboxGeometry, letterboxImage, toPlanarTensor, toSourceBox, ImageInputError, type LetterboxGeometry, type PreparedImage } from './letterbox';
export { parseModelCard, modelLabel, ModelError, type ModelCard } from './model-card';
export { modelFromFile, modelFromName, ModelWatcher, type CurrentModel, type ModelRef } from './model-source';
export { decodeDetections, nonMaxSuppression, iou, type DecodeOptions } from './yolo-decode';
