/**
 * Values grouped by key (a multimap), shaped for groups of one: a key holding a single value
 * stores it bare and only a second value allocates a Set. Most users hold one socket on a node,
 * so this saves a Set (~150 bytes) per connection over `Map<K, Set<V>>`.
 * Values must not themselves be Sets.
 */
export class Groups<K, V extends object> {
  private readonly groups = new Map<K, V | Set<V>>();

  add(key: K, value: V): void {
    const cur = this.groups.get(key);
    if (cur === undefined) this.groups.set(key, value);
    else if (cur instanceof Set) cur.add(value);
    else if (cur !== value) this.groups.set(key, new Set([cur, value]));
  }

  delete(key: K, value: V): void {
    const cur = this.groups.get(key);
    if (cur === value) this.groups.delete(key);
    else if (cur instanceof Set && cur.delete(value) && cur.size === 1) {
      for (const last of cur) this.groups.set(key, last);
    }
  }

  /** A snapshot of the key's values (safe to iterate while the groups change). */
  get(key: K): V[] {
    const cur = this.groups.get(key);
    if (cur === undefined) return [];
    return cur instanceof Set ? [...cur] : [cur];
  }

  /** A snapshot of every value. */
  values(): V[] {
    const out: V[] = [];
    for (const cur of this.groups.values()) {
      if (cur instanceof Set) out.push(...cur);
      else out.push(cur);
    }
    return out;
  }

  /** The number of values (not keys). */
  get size(): number {
    let n = 0;
    for (const cur of this.groups.values()) n += cur instanceof Set ? cur.size : 1;
    return n;
  }
}
