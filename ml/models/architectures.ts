// The architectures unprune trains: fc1 (the LTH MLP), LeNet-5, a small VGG-style CNN with BatchNorm, and CIFAR
// ResNets (6n+2 layers, widths 16/32/64). Parameter names are stable: they key weights, masks and per-layer metrics.
import * as tf from '@tensorflow/tfjs-core';
import { BN_EPS, BN_MOMENTUM, batchNorm, bnParams, conv, convParams, dense, denseParams } from './layers.js';
import type { ArchDefinition, ChainStep, ForwardContext, ParamInfo } from './network.js';

import type { ArchName } from '../catalog.js';

type Shape3 = [number, number, number];

/** fc1: input-300-100-classes with ReLU (784-300-100-10 on MNIST). */
export function mlp(inputShape: Shape3, numClasses: number, hidden: number[] = [300, 100]): ArchDefinition {
  const inUnits = inputShape[0] * inputShape[1] * inputShape[2];
  const widths = [inUnits, ...hidden, numClasses];
  const params: ParamInfo[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    params.push(...denseParams(`fc${i + 1}`, widths[i]!, widths[i + 1]!, i + 2 === widths.length));
  }
  return {
    arch: 'mlp',
    inputShape,
    numClasses,
    params,
    chain: widths.slice(1).map((_, i) => ({ kind: 'dense', name: `fc${i + 1}`, relu: i + 2 < widths.length })),
    forward(ctx, x) {
      let h = tf.reshape(x, [-1, inUnits]) as tf.Tensor2D;
      for (let i = 0; i + 1 < widths.length; i++) {
        h = dense(ctx, `fc${i + 1}`, h);
        if (i + 2 < widths.length) h = tf.relu(h);
      }
      return h;
    },
  };
}

/** LeNet-5: conv5(6) → pool → conv5(16) → pool → 120 → 84 → classes. */
export function lenet5(inputShape: Shape3, numClasses: number): ArchDefinition {
  const [h, w, c] = inputShape;
  const after = (s: number) => Math.floor((Math.floor((s - 4) / 2) - 4) / 2);
  const flat = after(h) * after(w) * 16;
  if (after(h) < 1 || after(w) < 1) throw new Error(`lenet5 needs inputs of at least 16×16, got ${h}×${w}`);
  const params = [
    ...convParams('conv1', 5, c, 6, true),
    ...convParams('conv2', 5, 6, 16, true),
    ...denseParams('fc1', flat, 120),
    ...denseParams('fc2', 120, 84),
    ...denseParams('fc3', 84, numClasses, true),
  ];
  const pool = { kind: 'maxPool', size: 2, stride: 2, pad: 'valid' } as const;
  return {
    arch: 'lenet5',
    inputShape,
    numClasses,
    params,
    chain: [
      { kind: 'conv', name: 'conv1', stride: 1, pad: 'valid', bias: true, relu: true },
      pool,
      { kind: 'conv', name: 'conv2', stride: 1, pad: 'valid', bias: true, relu: true },
      pool,
      { kind: 'dense', name: 'fc1', relu: true },
      { kind: 'dense', name: 'fc2', relu: true },
      { kind: 'dense', name: 'fc3', relu: false },
    ],
    forward(ctx, x) {
      let y = tf.maxPool(tf.relu(conv(ctx, 'conv1', x, 1, 'valid', true)), 2, 2, 'valid');
      y = tf.maxPool(tf.relu(conv(ctx, 'conv2', y, 1, 'valid', true)), 2, 2, 'valid');
      let z = tf.reshape(y, [-1, flat]) as tf.Tensor2D;
      z = tf.relu(dense(ctx, 'fc1', z));
      z = tf.relu(dense(ctx, 'fc2', z));
      return dense(ctx, 'fc3', z);
    },
  };
}

/** VGG-style: [32, 32, M, 64, 64, M, 128, M], each conv followed by BN and ReLU, then global average pool → fc. */
export function vggSmall(inputShape: Shape3, numClasses: number): ArchDefinition {
  const plan: (number | 'M')[] = [32, 32, 'M', 64, 64, 'M', 128, 'M'];
  const params: ParamInfo[] = [];
  const chain: ChainStep[] = [];
  let cin = inputShape[2];
  let i = 0;
  for (const item of plan) {
    if (item === 'M') {
      chain.push({ kind: 'maxPool', size: 2, stride: 2, pad: 'same' });
      continue;
    }
    i++;
    params.push(...convParams(`conv${i}`, 3, cin, item, false), ...bnParams(`bn${i}`, item));
    chain.push(
      { kind: 'conv', name: `conv${i}`, stride: 1, pad: 'same', bias: false, relu: false },
      { kind: 'batchNorm', name: `bn${i}`, relu: true, eps: BN_EPS, momentum: BN_MOMENTUM },
    );
    cin = item;
  }
  params.push(...denseParams('fc', cin, numClasses, true));
  chain.push({ kind: 'meanPool' }, { kind: 'dense', name: 'fc', relu: false });
  return {
    arch: 'vgg-small',
    inputShape,
    numClasses,
    params,
    chain,
    forward(ctx, x) {
      let y = x;
      let j = 0;
      for (const item of plan) {
        if (item === 'M') {
          y = tf.maxPool(y, 2, 2, 'same');
          continue;
        }
        j++;
        y = tf.relu(batchNorm(ctx, `bn${j}`, conv(ctx, `conv${j}`, y, 1, 'same', false)));
      }
      return dense(ctx, 'fc', tf.mean(y, [1, 2]) as tf.Tensor2D);
    },
  };
}

/** CIFAR ResNet-(6n+2) with basic blocks, widths 16/32/64 and 1×1 projection shortcuts where shapes change. */
export function cifarResnet(arch: 'resnet8' | 'resnet20', inputShape: Shape3, numClasses: number): ArchDefinition {
  const n = arch === 'resnet8' ? 1 : 3;
  const params: ParamInfo[] = [...convParams('stem', 3, inputShape[2], 16, false), ...bnParams('stem.bn', 16)];
  const blocks: { name: string; cin: number; cout: number; stride: number; project: boolean }[] = [];
  let cin = 16;
  [16, 32, 64].forEach((width, stage) => {
    for (let b = 0; b < n; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const name = `layer${stage + 1}.${b}`;
      const project = stride !== 1 || cin !== width;
      blocks.push({ name, cin, cout: width, stride, project });
      params.push(
        ...convParams(`${name}.conv1`, 3, cin, width, false),
        ...bnParams(`${name}.bn1`, width),
        ...convParams(`${name}.conv2`, 3, width, width, false),
        ...bnParams(`${name}.bn2`, width),
      );
      if (project)
        params.push(...convParams(`${name}.shortcut`, 1, cin, width, false), ...bnParams(`${name}.shortcut.bn`, width));
      cin = width;
    }
  });
  params.push(...denseParams('fc', 64, numClasses, true));
  const block = (ctx: ForwardContext, b: (typeof blocks)[number], x: tf.Tensor4D): tf.Tensor4D => {
    let out = tf.relu(batchNorm(ctx, `${b.name}.bn1`, conv(ctx, `${b.name}.conv1`, x, b.stride, 'same', false)));
    out = batchNorm(ctx, `${b.name}.bn2`, conv(ctx, `${b.name}.conv2`, out, 1, 'same', false));
    const shortcut = b.project
      ? batchNorm(ctx, `${b.name}.shortcut.bn`, conv(ctx, `${b.name}.shortcut`, x, b.stride, 'same', false))
      : x;
    return tf.relu(tf.add(out, shortcut)) as tf.Tensor4D;
  };
  return {
    arch,
    inputShape,
    numClasses,
    params,
    forward(ctx, x) {
      let y = tf.relu(batchNorm(ctx, 'stem.bn', conv(ctx, 'stem', x, 1, 'same', false)));
      for (const b of blocks) y = block(ctx, b, y);
      return dense(ctx, 'fc', tf.mean(y, [1, 2]) as tf.Tensor2D);
    },
  };
}

export function buildArch(arch: ArchName, inputShape: Shape3, numClasses: number): ArchDefinition {
  switch (arch) {
    case 'mlp':
      return mlp(inputShape, numClasses);
    case 'lenet5':
      return lenet5(inputShape, numClasses);
    case 'vgg-small':
      return vggSmall(inputShape, numClasses);
    case 'resnet8':
    case 'resnet20':
      return cifarResnet(arch, inputShape, numClasses);
  }
}
