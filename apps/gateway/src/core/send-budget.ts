/**
 * The node's budget for bytes buffered to clients that do not read them. Each socket is capped
 * (PARLEY_MAX_BACKPRESSURE, checked after each delivery), but a few hundred sockets that stop
 * reading each hold up to that cap: a hostile-client audit (12-03) held ~2.4 MiB on each of 300
 * stalled sockets, 740 MB, from one address. A sweep sums what every socket buffers and closes the
 * largest (4101: they resume later without loss) until the rest fit the node's budget
 * (PARLEY_NODE_MAX_BACKPRESSURE).
 *
 * Returns the items to close: the largest first, as few as bring the total within `budget`.
 */
export function overBudget<T>(items: Iterable<T>, size: (item: T) => number, budget: number): T[] {
  let total = 0;
  const buffered: [number, T][] = [];
  for (const item of items) {
    const n = size(item);
    if (n <= 0) continue;
    total += n;
    buffered.push([n, item]);
  }
  if (total <= budget) return [];
  buffered.sort((a, b) => b[0] - a[0]);
  const close: T[] = [];
  for (const [n, item] of buffered) {
    if (total <= budget) break;
    close.push(item);
    total -= n;
  }
  return close;
}
