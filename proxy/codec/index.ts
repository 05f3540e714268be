// The codec boundary's public surface.
export type * from './types.ts';
export * from './http1/index.ts';
