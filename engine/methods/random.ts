import { randomMap } from '../random.js';
import type { HostMethod } from './method.js';

/** The Random baseline (docs/PROTOCOL.md §3): a uniform map seeded by (run seed, image id, target). */
export const random: HostMethod<'random'> = {
  name: 'random',
  label: 'Random',
  color: '#7f7f7f',
  family: 'host',
  producesRaw: false,
  rowsPerTarget: () => 0,
  compute: ({ height, width, runSeed, imageId, classIndex }) => ({ map: randomMap(height, width, runSeed, imageId, classIndex) }),
};
