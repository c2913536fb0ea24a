type Listener<T> = (arg: T) => void;

/** Minimal typed emitter: works in browsers (no node:events) and never throws for a missing 'error' listener. */
export class Emitter<Events extends { error: Error }> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<E extends keyof Events>(event: E, fn: Listener<Events[E]>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(fn as Listener<never>);
    return () => this.off(event, fn);
  }

  once<E extends keyof Events>(event: E, fn: Listener<Events[E]>): () => void {
    const off = this.on(event, (arg) => {
      off();
      fn(arg);
    });
    return off;
  }

  off<E extends keyof Events>(event: E, fn: Listener<Events[E]>): void {
    this.listeners.get(event)?.delete(fn as Listener<never>);
  }

  emit<E extends keyof Events>(event: E, arg: Events[E]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as Listener<Events[E]>)(arg);
      } catch (err) {
        // An app listener must not break the SDK's delivery loop (it runs mid-sequence);
        // report it instead, but never recurse from a failing 'error' listener.
        if (event !== 'error') this.emit('error', err instanceof Error ? err : new Error(String(err)));
      }
    }
  }
}
