// The Date header Envoy puts on every response, formatted at most once per second.
let cachedSecond = -1;
let cachedValue = '';

export function dateHeader(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedValue = new Date(now).toUTCString();
  }
  return cachedValue;
}
