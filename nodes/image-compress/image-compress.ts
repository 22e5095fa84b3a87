// image-compress: resizes and re-encodes the image of an Inspection with sharp, with optional thumbnail,
// per-detection crops and an annotated copy; bounded concurrency and a bounded queue.
import type { NodeAPI } from 'node-red';
import os from 'node:os';
import type { Inspection } from '../../contracts/messages';
import { defineNode, fmt, LinesightError, status } from '../kit/node-kit';
import { compressImage, type CompressOptions } from './compressor';
import type { ImageCompressConfig } from './image-compress.schema';
import { WorkQueue } from './work-queue';

function rawChannels(attributes: Record<string, string> | undefined): number {
  const n = Number(attributes?.channels ?? 3);
  return Number.isInteger(n) && n >= 1 && n <= 4 ? n : 3;
}

export = function register(RED: NodeAPI) {
  defineNode<ImageCompressConfig>(RED, { type: 'image-compress', configSchema: 'ImageCompressConfig' }, ({ node, config }) => {
    const queue = new WorkQueue(config.concurrency || os.availableParallelism(), config.maxQueued);
    const options: CompressOptions = {
      format: config.format,
      quality: config.quality,
      maxWidth: config.maxWidth,
      maxHeight: config.maxHeight,
      fit: config.fit,
      keepMetadata: config.metadata === 'keep',
      thumbnailSize: config.thumbnail ? config.thumbnailSize : undefined,
      cropMargin: config.crops ? config.cropMargin : undefined,
      annotate: config.annotate,
      maxPixels: config.maxPixels,
    };
    let errors = 0;
    let lastText = '';
    const showStatus = () => {
      const text = `${fmt(queue.completed)} done · ${fmt(queue.active)} active · ${fmt(queue.queued)} queued${errors ? ` · ${fmt(errors)} failed` : ''}`;
      if (text === lastText) return;
      lastText = text;
      node.status(queue.active + queue.queued > 0 ? status.busy(text) : status.ok(text));
    };
    const ticker = setInterval(showStatus, 1000);
    node.status(status.ok(`${config.format} q${config.quality}${config.maxWidth ? ` ≤${config.maxWidth}px` : ''}`));

    return {
      async input(msg, send, done) {
        const payload = msg.payload as Inspection;
        const image = payload?.image;
        if (!image) {
          // An inspection without an image passes through untouched.
          if (payload && typeof payload === 'object' && Array.isArray((payload as Inspection).detections)) return (send(msg), done());
          throw new LinesightError('msg.payload must be an Inspection', { field: 'payload' });
        }
        if (!Buffer.isBuffer(image.data)) throw new LinesightError('msg.payload.image.data must be a Buffer', { field: 'payload.image.data' });
        try {
          const r = await queue.run(() => compressImage(image, payload.detections ?? [], { ...options, rawChannels: rawChannels(payload.attributes) }));
          const out = msg as Record<string, unknown>;
          // Detection boxes stay in the camera frame's pixels: a resized image says what that frame was, so
          // whoever reads the boxes later (the line screen, a dataset export) can scale them. A second
          // compress keeps the first one's note.
          const resized = r.image.width !== image.width || r.image.height !== image.height;
          const attributes =
            resized && payload.attributes?.sourceWidth === undefined ? { ...payload.attributes, sourceWidth: String(image.width), sourceHeight: String(image.height) } : payload.attributes;
          out.payload = { ...payload, image: r.image, ...(attributes ? { attributes } : {}) };
          if (r.thumbnail) out.thumbnail = r.thumbnail;
          if (r.crops) out.crops = r.crops;
          if (r.annotated) out.annotated = r.annotated;
          send(msg);
          done();
        } catch (err) {
          errors++;
          throw new LinesightError(`image-compress: inspection ${payload.inspectionId ?? '?'}: ${(err as Error).message}`, { cause: err });
        } finally {
          showStatus();
        }
      },
      async close() {
        clearInterval(ticker);
        await queue.close(new Error('image-compress closed before this image was compressed'));
        node.status(status.clear());
      },
    };
  });
};
