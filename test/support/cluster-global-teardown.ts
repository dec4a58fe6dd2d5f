import type { OwnCluster } from './redis-cluster';

export default async function teardown(): Promise<void> {
  const holder = globalThis as { __hiClusters?: OwnCluster[] };
  const clusters = holder.__hiClusters ?? [];
  holder.__hiClusters = undefined;
  await Promise.all(clusters.map((cluster) => cluster.destroy()));
}
