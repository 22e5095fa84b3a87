// vision-detect: object detection on the image of an Inspection with ONNX Runtime; fills `detections` (boxes
// in the image's pixels) and `modelVersion`, with bounded concurrency, a bounded queue, and a hot model swap
// when the agent installs a new version.
import type { NodeAPI } from 'node-red';
import type { Inspection } from '../../contracts/messages';
import { QueueFullError, WorkQueue } from '../image-compress';
import { defineNode, fmt, LinesightError, status } from '../kit/node-kit';
import { Detector } from './detector';
import { ImageInputError } from './letterbox';
import { ModelError } from './model-card';
import { modelFromFile, modelFromName, ModelWatcher, type ModelRef } from './model-source';
import { ModelSlot } from './model-slot';
import type { VisionDetectConfig } from './vision-detect.schema';

function rawChannels(attributes: Record<string, string> | undefined): number {
  const n = Number(attributes?.channels ?? 3);
  return Number.isInteger(n) && n >= 1 && n <= 4 ? n : 3;
}

export = function register(RED: NodeAPI) {
  defineNode<VisionDetectConfig>(RED, { type: 'vision-detect', configSchema: 'VisionDetectConfig' }, ({ node, config, label }) => {
    const modelsDir = config.modelsDir || process.env.LINESIGHT_MODELS_DIR;
    if (config.source === 'name' && !modelsDir) {
      throw new LinesightError(`${label}: model "${config.model}" is given by name but no models folder is set (modelsDir or LINESIGHT_MODELS_DIR)`, { field: 'modelsDir', statusText: 'no models folder' });
    }
    // A file that cannot be read is a config error; a name the agent has not installed yet is waited for.
    let first: ModelRef | undefined;
    let problem: string | undefined;
    if (config.source === 'file') first = modelFromFile(config.model);
    else {
      try {
        first = modelFromName(modelsDir!, config.model);
      } catch (err) {
        problem = `${config.model} not installed`;
        node.error(`${label}: ${(err as Error).message}; waiting for the agent to install it`);
      }
    }

    const queue = new WorkQueue(config.concurrency, config.maxQueued);
    let errors = 0;
    let lastText = '';
    const showStatus = () => {
      const model = slot.label ?? (slot.busy ? 'loading model' : 'no model');
      const load = queue.active + queue.queued;
      const text = problem ? `${model} · ${problem}` : load > 0 ? `${model} · ${fmt(queue.active)} active · ${fmt(queue.queued)} queued` : `${model}${errors ? ` · ${fmt(errors)} failed` : ''}`;
      if (text === lastText) return;
      lastText = text;
      node.status(problem ? status.failed(text) : load > 0 ? status.busy(text) : slot.label ? status.ok(text) : status.connecting(text));
    };
    const slot = new ModelSlot<ModelRef, Detector>((ref) => Detector.load(ref, { threads: config.threads }), {
      onSwap(now, previous) {
        problem = undefined;
        node.log(previous ? `${label}: switched from ${previous} to ${now}` : `${label}: running ${now}`);
        showStatus();
      },
      onLoadError(err, failed, keeping) {
        // The status begins with the model still running, so it says only which one was refused (it fits a dot).
        problem = keeping ? `${failed} refused` : `${failed} failed to load`;
        node.error(`${label}: ${err.message}${keeping ? `; still running ${keeping}` : ''}`);
        showStatus();
      },
    });
    if (first) void slot.swap(first);
    const watcher =
      config.source === 'name'
        ? new ModelWatcher(modelsDir!, config.model, first, {
            pollMs: config.pollSeconds * 1000,
            onChange: (ref) => void slot.swap(ref),
            onError(err) {
              problem = 'current.json unusable';
              node.error(`${label}: ${err.message}${slot.label ? `; still running ${slot.label}` : ''}`);
              showStatus();
            },
            onRecovered() {
              problem = undefined;
              showStatus();
            },
          })
        : undefined;
    const ticker = setInterval(showStatus, 1000);
    showStatus();

    const decode = () => ({ maxDetections: config.maxDetections });
    return {
      async input(msg, send, done) {
        const payload = msg.payload as Inspection;
        if (!payload || typeof payload !== 'object' || !Array.isArray(payload.detections)) throw new LinesightError('msg.payload must be an Inspection', { field: 'payload' });
        // Without an image there is nothing to look at: the inspection passes through as it came.
        if (!payload.image) return (send(msg), done());
        if (!Buffer.isBuffer(payload.image.data)) throw new LinesightError('msg.payload.image.data must be a Buffer', { field: 'payload.image.data' });
        let model = slot.label ?? config.model;
        try {
          const result = await queue.run(async () => {
            const lease = await slot.acquire();
            model = lease.model.label;
            try {
              const { card } = lease.model.ref;
              const detections = await lease.model.detect(
                payload.image!,
                { maxPixels: config.maxPixels, rawChannels: rawChannels(payload.attributes) },
                { ...decode(), confidence: config.confidence || card.thresholds.confidence, iou: config.iou || card.thresholds.iou },
              );
              return { detections, modelVersion: lease.model.label };
            } finally {
              lease.release();
            }
          });
          msg.payload = { ...payload, detections: result.detections, modelVersion: result.modelVersion } satisfies Inspection;
          send(msg);
          done();
        } catch (err) {
          errors++;
          const reason =
            err instanceof ImageInputError ? `model ${model}: ${err.message}`
            : err instanceof ModelError || err instanceof QueueFullError ? err.message
            : !slot.label ? `model ${model}: no model loaded${problem ? ` (${problem})` : ''}`
            : (err as Error).message;
          throw new LinesightError(`vision-detect: inspection ${payload.inspectionId ?? '?'}: ${reason}`, { cause: err });
        } finally {
          showStatus();
        }
      },
      async close() {
        clearInterval(ticker);
        watcher?.close();
        await queue.close(new Error('vision-detect closed before this inspection was examined'));
        await slot.close();
        node.status(status.clear());
      },
    };
  });
};
