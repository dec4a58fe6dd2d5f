import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import { MetricsRegistry } from './metrics.registry';

/** Requests by route pattern (`/admin/app-users/:id`, never the raw URL, so ids cannot explode the label set). */
@Injectable()
export class HttpMetrics implements OnModuleInit {
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route' | 'status'>;

  constructor(
    registry: MetricsRegistry,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    const labelNames = ['method', 'route', 'status'] as const;
    this.requests = new Counter({
      name: 'hi_http_requests_total',
      help: 'HTTP requests answered, by route pattern and status',
      labelNames,
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'hi_http_request_duration_seconds',
      help: 'HTTP request latency, by route pattern and status',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    // One pair of label children per (method, route, status), found again by a plain key: prom-client
    // would otherwise hash the label object on every request.
    const children = new Map<string, { count: { inc(): void }; time: { observe(v: number): void } }>();
    fastify.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const key = `${request.method} ${reply.statusCode} ${route}`;
      let child = children.get(key);
      if (!child) {
        const labels = { method: request.method, route, status: String(reply.statusCode) };
        children.set(key, (child = { count: this.requests.labels(labels), time: this.duration.labels(labels) }));
      }
      child.count.inc();
      child.time.observe(reply.elapsedTime / 1000);
      done();
    });
  }
}
