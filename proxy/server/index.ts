// The process model: the primary decides, workers serve.
export { Primary, type RunOptions } from './primary.ts';
export { Worker } from './worker.ts';
