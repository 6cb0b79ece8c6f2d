// Mish, DySample, F.normalize and the padding spandrel's call API applies for size
// requirements, against PyTorch and spandrel 0.4.2 (test/fixtures/nn-part2-b/, made by its
// make_vectors.py; DySample is spandrel's own class, shared and FDAT's copy).
import { test } from 'node:test';
import { casesOf, checkCase, param } from '../nn-vectors';
import { mishActivation } from '../../models/nn/mish';
import { dySampleUpsampler } from '../../models/nn/dysample-upsampler';
import { l2Normalize } from '../../models/nn/norm';
import { padToRequirement } from '../../models/nn/shape';

const FOLDER = 'nn-part2-b';

for (const c of casesOf('mish', FOLDER)) test(c.name, async () => void (await checkCase(c, mishActivation)));

for (const c of casesOf('dysample', FOLDER)) {
  test(c.name, async () => {
    const spec = {
      prefix: 'up',
      channels: param<number>(c, 'channels'),
      scale: param<number>(c, 'scale'),
      groups: param<number>(c, 'groups'),
    };
    await checkCase(c, (ctx, x) => dySampleUpsampler(ctx, x, spec));
  });
}

for (const c of casesOf('l2_normalize', FOLDER)) {
  test(c.name, async () => void (await checkCase(c, (ctx, x) => l2Normalize(ctx, x))));
}

for (const c of casesOf('pad_to_requirement', FOLDER)) {
  test(c.name, async () => {
    const [minimum, multiple] = [param<number>(c, 'minimum'), param<number>(c, 'multiple')];
    await checkCase(c, (ctx, x) => padToRequirement(ctx, x, minimum, multiple));
  });
}
