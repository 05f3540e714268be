export { AdminServer } from './server.ts';
export type { AdminContext, XdsStatus } from './context.ts';
