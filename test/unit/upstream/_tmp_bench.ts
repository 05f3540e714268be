import { WeightedSchedule } from '../../../proxy/upstream/lb/weighted-schedule.ts';
const w = Array.from({ length: 200 }, (_, i) => 1 + (i % 5));
const s = new WeightedSchedule(w);
const N = 5_000_000; let x = 0;
for (let r = 0; r < 3; r++) { const t1 = performance.now();
for (let i = 0; i < N; i++) x += s.pick();
console.log(`${((performance.now() - t1) * 1e6 / N).toFixed(0)} ns/pick`); }
