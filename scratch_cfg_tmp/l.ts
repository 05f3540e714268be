import { loadBootstrap } from '../proxy/config/index.ts';
try { const b = loadBootstrap(process.argv[2]); console.log(JSON.stringify(b, null, 1).slice(0, +(process.argv[3] ?? 100000))); } catch (e: any) { console.log(e.name, e.message); }
