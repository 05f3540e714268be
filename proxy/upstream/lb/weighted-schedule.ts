import { EdfQueue } from './edf-queue.ts';

// Smooth weighted round robin over fixed weights (Envoy's EDF scheduler): item i's k-th turn has
// the deadline k / w[i] and turns are taken in deadline order, ties first in first out. Weights
// 1:3 give B B A B B B A B B B A ...: any sum(w) consecutive picks hold item i exactly w[i] times.
// Deadlines are computed from turn counts rather than accumulated, so equal deadlines compare
// exactly equal and the pattern never drifts. Picks are O(log n) and allocate nothing.
export class WeightedSchedule {
  readonly #weights: Float64Array;
  readonly #turns: Float64Array;
  readonly #queue: EdfQueue;
  readonly #restartAfter: number;
  #picks = 0;

  // `prePicks` turns are taken at once so that schedules built at the same moment (one per
  // worker) do not all start on the same item.
  constructor(weights: ArrayLike<number>, prePicks = 0) {
    if (weights.length === 0) throw new RangeError('a weighted schedule needs at least one item');
    for (let i = 0; i < weights.length; i++) {
      if (!(weights[i] > 0 && Number.isFinite(weights[i]))) {
        throw new RangeError(`weight ${weights[i]} of item ${i} is not a positive number`);
      }
    }
    this.#weights = Float64Array.from(weights);
    this.#turns = new Float64Array(weights.length);
    this.#queue = new EdfQueue(weights.length);
    this.#restartAfter = restartInterval(this.#weights);
    this.#restart();
    for (let i = 0; i < prePicks; i++) this.pick();
  }

  pick(): number {
    const item = this.#queue.top();
    const turns = ++this.#turns[item];
    this.#queue.rescheduleTop((turns + 1) / this.#weights[item]);
    if (++this.#picks === this.#restartAfter) this.#restart();
    return item;
  }

  #restart(): void {
    this.#queue.clear();
    this.#turns.fill(0);
    this.#picks = 0;
    for (let i = 0; i < this.#weights.length; i++) this.#queue.push(i, 1 / this.#weights[i]);
  }
}

// Turn counts grow without bound, and k / w stays exactly ordered only while k * w is well
// below 2^52. With integer weights the schedule repeats every sum / gcd picks and is then back
// in its initial state, so restarting on such a boundary is invisible; do it before precision
// runs out. Fractional weights (effective locality weights) have no period: never restart; they
// reach the limit only after ~2^50 / max(w) picks.
function restartInterval(weights: Float64Array): number {
  let sum = 0;
  let divisor = 0;
  let max = 0;
  for (const w of weights) {
    if (!Number.isInteger(w)) return Infinity;
    sum += w;
    divisor = gcd(divisor, w);
    max = Math.max(max, w);
  }
  const period = sum / divisor;
  return period * Math.max(1, Math.floor(2 ** 50 / max / period));
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
