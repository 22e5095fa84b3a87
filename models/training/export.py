"""Export a trained checkpoint to ONNX with its metadata, and stamp evaluation metrics into a model.

    /usr/bin/python3 models/training/export.py onnx --checkpoint work/v1.0.0/checkpoint.pt \
        --out models/defect-detector/1.0.0 --version 1.0.0 --changelog "..."
    /usr/bin/python3 models/training/export.py metrics --model models/defect-detector/1.0.0 --metrics work/v1.0.0/metrics.json

`onnx` writes model.onnx (input `images` float32 [1, 3, S, S], RGB 0..1, letterboxed; output `output0` float32
[1, 4 + classes, cells] in the YOLOv8 layout) and the sidecar model.json. `metrics` puts the held-out metrics
measured on that very file (models/training/evaluate.mjs) into both, changing no weight: the metadata_props are
rewritten and the graph is saved as it was loaded.
"""
import argparse
import hashlib
import json
import os
import sys

import onnx
import torch

from detector import PAD_VALUE, STRIDE, DefectDetector, ExportHead

NAME = 'defect-detector'


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def metadata_props(card):
    """The model card as ONNX metadata_props: strings only; JSON where the value is structured. The first
    keys follow what YOLO exporters write (names, imgsz, stride, task), so generic decoders find them."""
    return {
        'names': json.dumps(card['classes']),
        'imgsz': json.dumps([card['input']['height'], card['input']['width']]),
        'stride': str(card['stride']),
        'task': 'detect',
        'version': card['version'],
        'description': card['description'],
        'linesight.name': card['name'],
        'linesight.version': card['version'],
        'linesight.input': json.dumps(card['input']),
        'linesight.output': json.dumps(card['output']),
        'linesight.thresholds': json.dumps(card['thresholds']),
        'linesight.dataset': json.dumps(card['dataset']),
        'linesight.training': json.dumps(card['training']),
        'linesight.metrics': json.dumps(card.get('metrics')),
        'linesight.changelog': card['changelog'],
    }


def set_metadata(model, props):
    del model.metadata_props[:]
    for k, v in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v


def write_card(folder, card):
    card['sha256'] = sha256(os.path.join(folder, 'model.onnx'))
    card['bytes'] = os.path.getsize(os.path.join(folder, 'model.onnx'))
    with open(os.path.join(folder, 'model.json'), 'w') as f:
        json.dump(card, f, indent=1)
        f.write('\n')


def export_onnx(args):
    torch.set_num_threads(1)
    checkpoint = torch.load(args.checkpoint, map_location='cpu')
    train = checkpoint['train']
    classes = checkpoint['classes']
    size = train['imgsz']
    model = DefectDetector(len(classes), train['width'])
    model.load_state_dict(checkpoint['state_dict'])
    model.eval()
    cells = (size // STRIDE) ** 2
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, 'model.onnx')
    torch.onnx.export(ExportHead(model), torch.zeros(1, 3, size, size), path, input_names=['images'], output_names=['output0'],
                      opset_version=13, do_constant_folding=True)
    card = {
        'name': NAME,
        'version': args.version,
        'format': 'onnx',
        'description': 'Linesight defect detector for the camera simulator\'s synthetic product images (scratch, dent, hole)',
        'classes': classes,
        'stride': STRIDE,
        'input': {
            'name': 'images', 'type': 'float32', 'shape': [1, 3, size, size], 'width': size, 'height': size, 'layout': 'NCHW',
            'color': 'RGB', 'range': [0, 1],
            'letterbox': {'fit': 'scale the longer side to the input size keeping the aspect, centre, pad the rest',
                          'pad': [PAD_VALUE, PAD_VALUE, PAD_VALUE]},
        },
        'output': {
            'name': 'output0', 'type': 'float32', 'shape': [1, 4 + len(classes), cells],
            'layout': 'YOLOv8: rows cx, cy, w, h (input pixels, letterboxed), then one score per class (after sigmoid, no objectness); one column per stride-8 cell',
        },
        'thresholds': {'confidence': args.confidence, 'iou': args.iou},
        'dataset': {'description': 'linesight simulate dataset: synthetic product images drawn by runtime/simulators/camera-images.ts',
                    'parts': train['datasets']},
        'training': {k: train[k] for k in train if k != 'datasets'},
        'changelog': args.changelog,
        'metrics': None,
    }
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    proto.doc_string = card['description']
    proto.producer_name = 'linesight models/training/export.py'
    proto.model_version = int(args.version.split('.')[0]) * 10000 + int(args.version.split('.')[1]) * 100 + int(args.version.split('.')[2].split('-')[0])
    set_metadata(proto, metadata_props(card))
    onnx.save(proto, path)
    write_card(args.out, card)
    print(f'{path}: {card["bytes"]} bytes, sha256 {card["sha256"]}')


def stamp_metrics(args):
    with open(os.path.join(args.model, 'model.json')) as f:
        card = json.load(f)
    with open(args.metrics) as f:
        metrics = json.load(f)
    path = os.path.join(args.model, 'model.onnx')
    if sha256(path) != card['sha256']:
        sys.exit(f'{path} is not the file model.json describes (sha256 differs); export again')
    if metrics.get('model', {}).get('sha256') not in (None, card['sha256']):
        sys.exit(f'{args.metrics} was measured on another file (sha256 {metrics["model"]["sha256"]}), not {path}')
    metrics.pop('model', None)
    card['metrics'] = metrics
    proto = onnx.load(path)
    before = [t.SerializeToString() for t in proto.graph.initializer]
    set_metadata(proto, metadata_props(card))
    assert before == [t.SerializeToString() for t in proto.graph.initializer]
    onnx.save(proto, path)
    card['weightsSha256'] = hashlib.sha256(b''.join(before)).hexdigest()
    write_card(args.model, card)
    print(f'{path}: metrics stamped, sha256 now {card["sha256"]}')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='command', required=True)
    e = sub.add_parser('onnx', help='checkpoint -> model.onnx + model.json')
    e.add_argument('--checkpoint', required=True)
    e.add_argument('--out', required=True)
    e.add_argument('--version', required=True, help='semver, e.g. 1.0.0')
    e.add_argument('--changelog', default='')
    e.add_argument('--confidence', type=float, default=0.25, help='default score threshold for decoders')
    e.add_argument('--iou', type=float, default=0.45, help='default NMS IoU threshold for decoders')
    m = sub.add_parser('metrics', help='put evaluate.mjs results into model.onnx metadata and model.json')
    m.add_argument('--model', required=True, help='folder with model.onnx and model.json')
    m.add_argument('--metrics', required=True, help='JSON written by evaluate.mjs --json')
    args = ap.parse_args()
    if args.command == 'onnx':
        export_onnx(args)
    else:
        stamp_metrics(args)


if __name__ == '__main__':
    main()
