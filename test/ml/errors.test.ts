// The error taxonomy both engines use: permanence declared on the classes, read by isPermanent, kept across a
// process boundary as a flag.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackendUnavailableError } from '../../ml/backend.js';
import { DataFileError } from '../../ml/data/idx-format.js';
import { ForgetSetError } from '../../ml/data/forget-set.js';
import { DatasetMissingError } from '../../ml/data/mnist.js';
import { errorChain, InvalidConfigError, isPermanent } from '../../ml/errors.js';
import { NonFiniteLossError } from '../../ml/train.js';
import { InvalidStorePathError, StoreError } from '../../store/blob-store.js';
import { CodecError } from '../../store/codec.js';
import { MissingInputError } from '../../activities/stage-artifacts.js';
import { SpecError } from '../../sweep/spec.js';

test('permanent: bad configuration, missing or malformed data, a diverging run, bad input', () => {
  for (const e of [
    new InvalidConfigError('sparsity must be in [0, 1)'),
    new DatasetMissingError('no MNIST'),
    new DataFileError('/x', 'truncated'),
    new ForgetSetError('too many'),
    new NonFiniteLossError(1, 2),
    new BackendUnavailableError('gpu', [], 'not installed'),
    new InvalidStorePathError('../x'),
    new SpecError(['seeds: empty list']),
  ])
    assert.ok(isPermanent(e), e.name);
});

test('retryable: store failures, corrupt or missing inputs, plain errors; a deserialised flag counts', () => {
  for (const e of [
    new StoreError('S3 GET failed'),
    new CodecError('bad magic'),
    new MissingInputError('train-abc'),
    new Error('worker died'),
    new RangeError('x'),
  ])
    assert.ok(!isPermanent(e), e.name);
  assert.ok(isPermanent(Object.assign(new Error('from a worker process'), { permanent: true })));
  assert.ok(!isPermanent(undefined) && !isPermanent('permanent'));
});

test('errorChain shows the causes once each', () => {
  const inner = new Error('ECONNREFUSED 127.0.0.1:7480');
  const outer = new StoreError('S3 GET stages/x failed', { cause: inner });
  assert.equal(errorChain(outer), 'S3 GET stages/x failed: ECONNREFUSED 127.0.0.1:7480');
  assert.equal(errorChain(new Error('a', { cause: new Error('a') })), 'a');
});
