// The codec boundary's public surface.
export type * from './types.ts';
