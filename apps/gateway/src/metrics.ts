import type { RecordableHistogram } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type Allocator, processAllocator } from './allocator.js';
import { loadedUws, type UwsInfo } from './uws.js';

/** A counter by one label, counted per frame or per delivery. */
export interface HotCounter {
  inc(labelValue: string, n?: number): void;
}

/**
 * A counter by one label for the hot path: an increment is a Map update, and prom-client reads
 * the totals when scraped (`collect`). prom-client's own `inc(labels)` hashes the label object
 * on every call (~1 % of a gateway's CPU per counter on the send path).
 */
function hotCounter(registry: Registry, name: string, help: string, label: string): HotCounter {
  const totals = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, n] of totals) this.inc({ [label]: value }, n);
    },
  });
  return {
    inc(labelValue, n = 1) {
      totals.set(labelValue, (totals.get(labelValue) ?? 0) + n);
    },
  };
}

/** One registry per gateway instance (tests run several gateways in one process). */
export function createMetrics(
  nodeId: string,
  uwsNative: boolean,
  uws: UwsInfo = loadedUws().info,
  allocator: Allocator = processAllocator(),
) {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeId });
  // prom-client's event-loop delay histogram samples once a second, not every 10 ms (its default):
  // its native timer woke an otherwise idle gateway 100 times a second, ~170 extra epoll waits/s
  // under load (strace). Node's histogram records each sampling interval whole, so the gauges
  // prom-client derives from it (min … p99) read the interval plus the delay: ~1 s at this
  // precision (10 ms at its default). They are dropped; parley_event_loop_delay_* report the delay
  // alone, from the StallClock's 50 ms timer that already runs (watchLoopDelay).
  // nodejs_eventloop_lag_seconds (a setImmediate timed at each scrape) stays.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  for (const stat of ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'])
    registry.removeSingleMetric(`nodejs_eventloop_lag_${stat}_seconds`);
  let loopDelays: RecordableHistogram | undefined;
  let optimisticRefused = (): number => 0;
  const loopDelay = (name: string, help: string, read: (h: RecordableHistogram) => number, reset = false) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (!loopDelays || loopDelays.count === 0) return;
        this.set(read(loopDelays) / 1e6);
        if (reset) loopDelays.reset();
      },
    });
  const m = {
    registry,
    connections: new Gauge({ name: 'parley_connections', help: 'Open WebSocket connections', registers: [registry] }),
    uwsNative: new Gauge({
      name: 'parley_uws_native',
      help: '1 when uWebSockets.js runs its native binary, 0 on the slow JS fallback',
      registers: [registry],
    }),
    uwsBuild: new Gauge({
      name: 'parley_uws_build_info',
      help: 'The uWebSockets.js build this process runs (always 1): npm package and version, uWS release, Node version and ABI',
      labelNames: ['package', 'version', 'uws', 'node_version', 'abi', 'native'],
      registers: [registry],
    }),
    allocator: new Gauge({
      name: 'parley_allocator_info',
      help: 'The malloc this process runs on (always 1): jemalloc when scripts/node.sh preloaded it, else system',
      labelNames: ['allocator'],
      registers: [registry],
    }),
    framesIn: hotCounter(registry, 'parley_frames_in_total', 'Client frames received, by op', 'op'),
    framesOut: hotCounter(
      registry,
      'parley_frames_out_total',
      'WebSocket messages sent to clients by the channel fan-out (a batch of events is one), by kind',
      'kind',
    ),
    errors: new Counter({
      name: 'parley_errors_total',
      help: 'Error frames sent, by code',
      labelNames: ['code'],
      registers: [registry],
    }),
    costlyRequests: new Counter({
      name: 'parley_costly_requests_total',
      help: 'Requests that read or write the database beyond a send (create, join, list, members, history), by op; refused ones (busy) too',
      labelNames: ['op'],
      registers: [registry],
    }),
    fenceRechecks: new Counter({
      name: 'parley_send_fence_rechecks_total',
      help: 'Sends the send fence refused (a kick, mute or ban this node had not heard of yet) and that were checked again from the record, by outcome (sent, refused)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    adminRequests: new Counter({
      name: 'parley_admin_requests_total',
      help: 'Admin API calls, by route and HTTP status (401/403 = refused)',
      labelNames: ['route', 'status'],
      registers: [registry],
    }),
    closes: new Counter({
      name: 'parley_closes_total',
      help: 'Connections closed by the server, by close code',
      labelNames: ['code'],
      registers: [registry],
    }),
    shed: new Counter({
      name: 'parley_shed_total',
      help: 'Ephemeral events (typing, presence) not sent to a slow consumer',
      registers: [registry],
    }),
    ackLatency: new Histogram({
      name: 'parley_send_ack_seconds',
      help: 'From receiving a send to acking it after commit',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    commitBatch: new Histogram({
      name: 'parley_commit_batch_size',
      help: 'Messages per group-commit transaction',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000],
      registers: [registry],
    }),
    brokerUp: new Gauge({ name: 'parley_broker_up', help: '1 when the broker can deliver', registers: [registry] }),
    appendRefused: new Counter({
      name: 'parley_append_optimistic_refused_total',
      help: 'Appends sent without the retried-cmid lookup and refused because a cmid repeated (sent again with it)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(optimisticRefused());
      },
    }),
    // Registered in this order, collected in this order: max, the one that resets, goes last.
    loopDelayP50: loopDelay(
      'parley_event_loop_delay_p50_seconds',
      'Event-loop delay since the last scrape, median (a 50 ms timer: how late each turn came)',
      (h) => h.percentile(50),
    ),
    loopDelayP99: loopDelay('parley_event_loop_delay_p99_seconds', 'Event-loop delay since the last scrape, 99th percentile', (h) =>
      h.percentile(99),
    ),
    loopDelayMax: loopDelay('parley_event_loop_delay_max_seconds', 'Event-loop delay since the last scrape, longest', (h) => h.max, true),
    /** The histogram the loop-delay gauges read (StallClock.delays), read and reset at each scrape. */
    watchLoopDelay(h: RecordableHistogram): void {
      loopDelays = h;
    },
    /** Where parley_append_optimistic_refused_total reads its count (the SQL message store's). */
    watchOptimisticRefused(read: () => number): void {
      optimisticRefused = read;
    },
  };
  m.uwsNative.set(uwsNative ? 1 : 0);
  m.uwsBuild.set(
    { package: uws.package, version: uws.version, uws: uws.uws, node_version: uws.node, abi: uws.abi, native: String(uws.native) },
    1,
  );
  m.allocator.set({ allocator }, 1);
  return m;
}
export type Metrics = ReturnType<typeof createMetrics>;
