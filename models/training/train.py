"""Train the Linesight defect detector on a dataset written by `linesight simulate dataset`.

    OMP_NUM_THREADS=1 /usr/bin/python3 models/training/train.py --data models/training/work/train \
        --out models/training/work/v1.0.0 --width 8 --epochs 2 --seed 1

Several --data folders train on their union (e.g. a set of camera-sized images and one of small ones).

Deterministic: one thread, fixed seeds, a fixed number of steps (never a time budget), so the same dataset and
arguments give the same weights. Writes checkpoint.pt (weights and the arguments) and train-log.json.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch

from detector import DefectDetector, detection_loss, load_dataset


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', required=True, nargs='+', help='dataset folder(s) (dataset.json, images/, labels/)')
    ap.add_argument('--out', required=True, help='folder for checkpoint.pt and train-log.json')
    ap.add_argument('--imgsz', type=int, default=320, help='square input size, a multiple of 16')
    ap.add_argument('--width', type=int, default=8, help='channels of the first layer; the rest scale with it')
    ap.add_argument('--epochs', type=int, default=3)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1, help='torch threads (keep 1 on a shared machine)')
    args = ap.parse_args()
    if args.imgsz % 16:
        ap.error(f'--imgsz must be a multiple of 16, got {args.imgsz}')

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)

    t0 = time.time()
    parts = [load_dataset(folder, args.imgsz, cache=os.path.join(folder, f'letterboxed-{args.imgsz}.npz')) for folder in args.data]
    manifests = [m for _, _, m in parts]
    classes = manifests[0]['classes']
    for folder, m in zip(args.data, manifests):
        if m['classes'] != classes:
            ap.error(f'--data {folder} names classes {m["classes"]}, the first dataset {classes}')
    images = np.concatenate([im for im, _, _ in parts]) if len(parts) > 1 else parts[0][0]
    boxes = [b for _, bs, _ in parts for b in bs]
    print(f'data: {len(images)} images, {sum(len(b) for b in boxes)} boxes, loaded in {time.time() - t0:.1f} s', flush=True)

    model = DefectDetector(len(classes), args.width)
    params = sum(p.numel() for p in model.parameters())
    steps_per_epoch = len(images) // args.batch
    total = steps_per_epoch * args.epochs
    warmup = min(200, total // 10)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup))) * 0.95 + 0.05)
    print(f'model: width {args.width}, {params} parameters; {args.epochs} epochs x {steps_per_epoch} steps of {args.batch}', flush=True)

    log = []
    step = 0
    t_train = time.time()
    model.train()
    for epoch in range(args.epochs):
        order = rng.permutation(len(images))
        sums = np.zeros(3)
        for s in range(steps_per_epoch):
            idx = order[s * args.batch:(s + 1) * args.batch]
            x = torch.from_numpy(images[idx]).permute(0, 3, 1, 2).float().div_(255)
            # Light photometric jitter: a camera's exposure varies; the geometry the renderer draws does not.
            x = (x * torch.empty(len(idx), 1, 1, 1).uniform_(0.85, 1.15) + torch.empty(len(idx), 1, 1, 1).uniform_(-0.05, 0.05)).clamp_(0, 1)
            loss, cls_l, box_l = detection_loss(*model(x), [boxes[i] for i in idx])
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimiser.step()
            schedule.step()
            step += 1
            sums += (loss.item(), cls_l, box_l)
            if step % 50 == 0:
                print(f'epoch {epoch + 1} step {step}/{total}: loss {loss.item():.3f} (cls {cls_l:.3f}, box {box_l:.3f}), '
                      f'lr {schedule.get_last_lr()[0]:.5f}, {time.time() - t_train:.0f} s', flush=True)
        mean = sums / steps_per_epoch
        log.append({'epoch': epoch + 1, 'loss': round(mean[0], 4), 'cls': round(mean[1], 4), 'box': round(mean[2], 4), 'seconds': round(time.time() - t_train, 1)})
        print(f'epoch {epoch + 1} done: mean loss {mean[0]:.3f} (cls {mean[1]:.3f}, box {mean[2]:.3f})', flush=True)

    seconds = round(time.time() - t_train, 1)
    train_info = {
        'imgsz': args.imgsz, 'width': args.width, 'epochs': args.epochs, 'batch': args.batch, 'lr': args.lr, 'seed': args.seed,
        'threads': args.threads, 'steps': total, 'parameters': params, 'trainSeconds': seconds, 'torch': torch.__version__,
        'datasets': [{k: m[k] for k in ('format', 'seed', 'count', 'sizes', 'defects', 'quality', 'counts', 'sha256')} for m in manifests],
    }
    torch.save({'state_dict': model.state_dict(), 'classes': classes, 'train': train_info}, os.path.join(args.out, 'checkpoint.pt'))
    with open(os.path.join(args.out, 'train-log.json'), 'w') as f:
        json.dump({**train_info, 'epochs_log': log}, f, indent=1)
    print(f'trained in {seconds} s -> {os.path.join(args.out, "checkpoint.pt")}', flush=True)


if __name__ == '__main__':
    main()
