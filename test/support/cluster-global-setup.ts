import { startRedisCluster } from './redis-cluster';

/**
 * jest globalSetup of the cluster tier: one Redis Cluster (3 masters, 3 replicas) per jest worker,
 * so that test files of that tier, which run one at a time in a worker, each have a cluster to
 * themselves (TestWorld flushes it before and after). Their node lists reach the workers through
 * HI_TEST_REDIS_CLUSTERS.
 */
export default async function setup(globalConfig: { maxWorkers: number }): Promise<void> {
  // Both cluster projects name this setup; the first start serves them both.
  if ((globalThis as { __hiClusters?: unknown }).__hiClusters) return;
  const count = Math.max(1, globalConfig.maxWorkers);
  const clusters = await Promise.all(Array.from({ length: count }, () => startRedisCluster()));
  (globalThis as { __hiClusters?: unknown }).__hiClusters = clusters;
  process.env.HI_TEST_REDIS_CLUSTERS = clusters.map((cluster) => cluster.nodeList).join(';');
}
