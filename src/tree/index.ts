export * from './datatree.js';
export * from './path.js';
