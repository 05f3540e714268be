export { AdminServer } from './server.ts';
export type { AdminContext } from './context.ts';
