import { defineSeedRange } from './seeds.js';

defineSeedRange('sim A', 1, 1000);
