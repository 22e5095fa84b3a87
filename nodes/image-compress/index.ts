// image-compress's public face: its bounded work queue, which other nodes that do heavy work per image share.
export { WorkQueue, QueueFullError } from './work-queue';
