// A small seeded generator (mulberry32): the same seed gives the same cases on every machine.
export class Rng {
  constructor(seed) {
    this.state = seed >>> 0;
  }
  next() {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n) {
    return Math.floor(this.next() * n);
  }
  pick(items) {
    return items[this.int(items.length)];
  }
  bool(p = 0.5) {
    return this.next() < p;
  }
}

/** The seed of case `index` in a run seeded `seed`: cases are independent, so any one can be replayed alone. */
export function caseSeed(seed, index) {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}
