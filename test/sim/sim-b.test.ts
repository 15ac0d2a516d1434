import { defineSeedRange } from './seeds.js';

defineSeedRange('sim B', 1001, 1000);
