import type { Broker } from '../../ports/broker.js';

/** An in-process bus several MemoryBrokers (nodes) can share: single-node default and tests. */
export class MemoryBus {
  readonly nodes = new Set<MemoryBroker>();
}

export class MemoryBroker implements Broker {
  private readonly topics = new Set<string>();
  private handler: (topic: string, bytes: Uint8Array) => void = () => {};

  constructor(private readonly bus: MemoryBus = new MemoryBus()) {
    bus.nodes.add(this);
  }

  async publish(topic: string, bytes: Uint8Array): Promise<void> {
    for (const node of this.bus.nodes) {
      // Deliver asynchronously, like a network broker, and never to the origin.
      if (node !== this && node.topics.has(topic)) queueMicrotask(() => node.handler(topic, bytes));
    }
  }
  async subscribe(topic: string): Promise<void> {
    this.topics.add(topic);
  }
  async unsubscribe(topic: string): Promise<void> {
    this.topics.delete(topic);
  }
  onMessage(handler: (topic: string, bytes: Uint8Array) => void): void {
    this.handler = handler;
  }
  healthy(): boolean {
    return true;
  }
  async close(): Promise<void> {
    this.bus.nodes.delete(this);
  }
}
