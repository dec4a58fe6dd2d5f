import type { Cluster } from 'ioredis';

/** A Redis Cluster's health as operators read it: CLUSTER INFO, and whether each master answers. */
export interface ClusterState {
  /** `ok` when every slot has a master that answers; `fail` otherwise (CLUSTER INFO cluster_state). */
  state: string;
  slotsAssigned: number;
  slotsOk: number;
  slotsFail: number;
  knownNodes: number;
  masters: number;
  mastersAnswering: number;
}

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
}

/** Asks a node for CLUSTER INFO and PINGs every master the client knows. */
export async function clusterState(cluster: Cluster): Promise<ClusterState> {
  const info = String(await cluster.cluster('INFO'));
  const masters = cluster.nodes('master');
  const answers = await Promise.all(
    masters.map((node) =>
      node.ping().then(
        () => true,
        () => false,
      ),
    ),
  );
  const number = (name: string) => Number(field(info, name) ?? 0);
  return {
    state: field(info, 'cluster_state') ?? 'unknown',
    slotsAssigned: number('cluster_slots_assigned'),
    slotsOk: number('cluster_slots_ok'),
    slotsFail: number('cluster_slots_fail') + number('cluster_slots_pfail'),
    knownNodes: number('cluster_known_nodes'),
    masters: masters.length,
    mastersAnswering: answers.filter(Boolean).length,
  };
}
