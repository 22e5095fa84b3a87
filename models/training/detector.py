"""The Linesight defect detector: a small single-stage, anchor-free detector for the camera simulator's
synthetic defects, its letterbox pre-processing, its training loss and the YOLOv8-layout output head.

One prediction per cell of a stride-8 grid (40 x 40 = 1600 at 320 x 320). Each cell predicts its distances to
the four box edges and one score per class; the exported graph turns them into the YOLOv8 layout
[1, 4 + classes, cells]: cx, cy, w, h in input pixels, then the class scores after sigmoid.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

STRIDE = 8
PAD_VALUE = 114  # letterbox grey, as YOLO tools pad


# Pre-processing.

def letterbox_geometry(width, height, size):
    """Scale and offsets that fit a width x height image into size x size, centred, keeping the aspect."""
    scale = min(size / width, size / height)
    # Halves round up, as JavaScript's Math.round does in the Node pre-processing (Python's round() would not).
    new_w, new_h = math.floor(width * scale + 0.5), math.floor(height * scale + 0.5)
    left, top = (size - new_w) // 2, (size - new_h) // 2
    return scale, new_w, new_h, left, top


def letterbox(image, size, resample=Image.LANCZOS):
    """PIL RGB image -> uint8 array [size, size, 3] and the (scale, left, top) to map boxes with. Lanczos-3, as
    sharp resizes by default, so training sees what the Node pre-processing (evaluate.mjs, vision-detect) feeds."""
    scale, new_w, new_h, left, top = letterbox_geometry(image.width, image.height, size)
    canvas = np.full((size, size, 3), PAD_VALUE, dtype=np.uint8)
    canvas[top:top + new_h, left:left + new_w] = np.asarray(image.convert('RGB').resize((new_w, new_h), resample))
    return canvas, scale, left, top


def load_dataset(folder, size, cache=None):
    """A dataset written by `linesight simulate dataset`: images letterboxed to size (uint8 NHWC) and, per image,
    boxes [n, 5] = class, x1, y1, x2, y2 in letterboxed pixels. Cached in `cache` (an .npz) when given."""
    with open(os.path.join(folder, 'dataset.json')) as f:
        manifest = json.load(f)
    if cache and os.path.exists(cache):
        data = np.load(cache, allow_pickle=False)
        if str(data['sha256']) == manifest['sha256'] and int(data['size']) == size:
            boxes = np.split(data['boxes'], data['splits']) if len(data['splits']) else [data['boxes']]
            return data['images'], boxes, manifest
    images = np.empty((len(manifest['images']), size, size, 3), dtype=np.uint8)
    boxes = []
    for i, entry in enumerate(manifest['images']):
        with Image.open(os.path.join(folder, entry['file'])) as im:
            images[i], scale, left, top = letterbox(im, size)
        rows = []
        with open(os.path.join(folder, entry['label'])) as f:
            for line in f:
                if not line.strip():
                    continue
                cls, cx, cy, w, h = line.split()
                cx, w = float(cx) * entry['width'], float(w) * entry['width']
                cy, h = float(cy) * entry['height'], float(h) * entry['height']
                rows.append([int(cls), left + (cx - w / 2) * scale, top + (cy - h / 2) * scale,
                             left + (cx + w / 2) * scale, top + (cy + h / 2) * scale])
        boxes.append(np.array(rows, dtype=np.float32).reshape(-1, 5))
    if cache:
        counts = np.cumsum([len(b) for b in boxes])[:-1]
        np.savez(cache, images=images, boxes=np.concatenate(boxes), splits=counts, sha256=manifest['sha256'], size=size)
    return images, boxes, manifest


# The network.

def conv(cin, cout, k=3, s=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout), nn.SiLU())


class DefectDetector(nn.Module):
    """Backbone down to stride 8 (detail) and 16 (context), merged back at stride 8, then two small heads."""

    def __init__(self, num_classes, width=8):
        super().__init__()
        c1, c2, c3, c4 = width, 2 * width, 4 * width, 6 * width
        self.num_classes = num_classes
        self.width = width
        self.stem = nn.Sequential(conv(3, c1, 3, 2), conv(c1, c2, 3, 2), conv(c2, c2), conv(c2, c3, 3, 2), conv(c3, c3), conv(c3, c3))
        self.context = nn.Sequential(conv(c3, c4, 3, 2), conv(c4, c4), conv(c4, c4))
        self.merge = nn.Sequential(conv(c3 + c4, c3, 1), conv(c3, c3))
        self.box_head = nn.Sequential(conv(c3, c3), nn.Conv2d(c3, 4, 1))
        self.cls_head = nn.Sequential(conv(c3, c3), nn.Conv2d(c3, num_classes, 1))
        nn.init.constant_(self.cls_head[-1].bias, -math.log((1 - 0.01) / 0.01))  # start from "nothing here" (p = 0.01)
        nn.init.zeros_(self.box_head[-1].bias)

    def forward(self, x):
        """x [B, 3, S, S] in 0..1 -> box distances [B, 4, H, W] (raw) and class logits [B, C, H, W]."""
        p8 = self.stem(x)
        p16 = self.context(p8)
        merged = self.merge(torch.cat([p8, F.interpolate(p16, size=p8.shape[-2:], mode='nearest')], 1))
        return self.box_head(merged), self.cls_head(merged)


def cell_centres(h, w, device=None):
    ys, xs = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing='ij')
    return (xs.reshape(-1).float() + 0.5) * STRIDE, (ys.reshape(-1).float() + 0.5) * STRIDE


def decode(box_raw, cls_logits):
    """Raw outputs -> boxes [B, N, 4] as x1, y1, x2, y2 in input pixels, and class logits [B, N, C]."""
    b, _, h, w = box_raw.shape
    cx, cy = cell_centres(h, w, box_raw.device)
    dist = F.softplus(box_raw.reshape(b, 4, -1)) * STRIDE  # left, top, right, bottom
    boxes = torch.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], -1)
    return boxes, cls_logits.reshape(b, cls_logits.shape[1], -1).transpose(1, 2)


class ExportHead(nn.Module):
    """The network plus the decode to the YOLOv8 layout [1, 4 + C, N]: cx, cy, w, h (input pixels), sigmoid scores."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images):
        boxes, logits = decode(*self.model(images))
        xywh = torch.cat([(boxes[..., :2] + boxes[..., 2:]) / 2, boxes[..., 2:] - boxes[..., :2]], -1)
        return torch.cat([xywh, logits.sigmoid()], -1).transpose(1, 2)


# Training.

def assign(targets, h, w, radius=1.5):
    """Per cell: the index of the box it learns (or -1). A cell learns a box when its centre lies inside the box
    and within `radius` cells of the box centre; the cell holding the centre always does; ties go to the smaller box."""
    cx, cy = cell_centres(h, w)
    n = cx.numel()
    if len(targets) == 0:
        return torch.full((n,), -1, dtype=torch.long)
    t = torch.as_tensor(targets)
    x1, y1, x2, y2 = t[:, 1], t[:, 2], t[:, 3], t[:, 4]
    gx, gy = (x1 + x2) / 2, (y1 + y2) / 2
    inside = (cx[:, None] > x1) & (cx[:, None] < x2) & (cy[:, None] > y1) & (cy[:, None] < y2)
    near = ((cx[:, None] - gx).abs() < radius * STRIDE) & ((cy[:, None] - gy).abs() < radius * STRIDE)
    ok = inside & near
    centre_cell = (gy / STRIDE).long().clamp(0, h - 1) * w + (gx / STRIDE).long().clamp(0, w - 1)
    ok[centre_cell, torch.arange(len(t))] = True
    area = ((x2 - x1) * (y2 - y1))[None].expand(n, -1).clone()
    area[~ok] = float('inf')
    best_area, best = area.min(1)
    best[torch.isinf(best_area)] = -1
    return best


def giou(a, b):
    """Generalised IoU of matching rows of two [N, 4] x1y1x2y2 tensors."""
    inter_w = (torch.min(a[:, 2], b[:, 2]) - torch.max(a[:, 0], b[:, 0])).clamp(min=0)
    inter_h = (torch.min(a[:, 3], b[:, 3]) - torch.max(a[:, 1], b[:, 1])).clamp(min=0)
    inter = inter_w * inter_h
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    iou = inter / union.clamp(min=1e-6)
    hull = (torch.max(a[:, 2], b[:, 2]) - torch.min(a[:, 0], b[:, 0])) * (torch.max(a[:, 3], b[:, 3]) - torch.min(a[:, 1], b[:, 1]))
    return iou - (hull - union) / hull.clamp(min=1e-6)


def detection_loss(box_raw, cls_logits, batch_targets, box_weight=2.0):
    """Focal loss on every cell and class, GIoU loss on the cells that learn a box; both per positive cell."""
    b, c, h, w = cls_logits.shape
    boxes, logits = decode(box_raw, cls_logits)
    assigned = torch.stack([assign(t, h, w) for t in batch_targets])  # [B, N]
    cls_target = torch.zeros_like(logits)
    pos = assigned >= 0
    gt_boxes = torch.zeros(int(pos.sum()), 4)
    k = 0
    for i, t in enumerate(batch_targets):
        idx = assigned[i][pos[i]]
        if len(idx):
            tt = torch.as_tensor(t)[idx]
            cls_target[i, pos[i], tt[:, 0].long()] = 1.0
            gt_boxes[k:k + len(idx)] = tt[:, 1:]
            k += len(idx)
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, cls_target, reduction='none')
    p_t = p * cls_target + (1 - p) * (1 - cls_target)
    alpha = 0.25 * cls_target + 0.75 * (1 - cls_target)
    focal = (alpha * (1 - p_t) ** 2 * ce).sum()
    num_pos = max(1, int(pos.sum()))
    box_loss = (1 - giou(boxes[pos], gt_boxes)).sum() if num_pos and pos.any() else boxes.sum() * 0
    return (focal + box_weight * box_loss) / num_pos, focal.item() / num_pos, box_loss.item() / num_pos
