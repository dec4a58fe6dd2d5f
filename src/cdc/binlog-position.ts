/** A resume point of the binary log: always file and position; GTID where the server has one. */
export interface BinlogPosition {
  file: string;
  position: number;
  gtid: string | null;
}

/** Where the server's binary log ends, as SHOW MASTER STATUS reports it. */
export interface ServerPosition {
  file: string;
  position: number;
}

export function describePosition(p: BinlogPosition | null | undefined): string {
  if (!p) return 'none';
  return `${p.file}:${p.position}${p.gtid ? ` (gtid ${p.gtid})` : ''}`;
}

/**
 * Whether a stream standing at `at` has read everything up to `target`. Binlog files are numbered
 * `base.000001`, `base.000002`...; the number is compared as a number, so a seventh digit still sorts.
 */
export function reached(at: ServerPosition | null, target: ServerPosition): boolean {
  if (!at) return false;
  const diff = fileNumber(at.file) - fileNumber(target.file);
  return diff > 0 || (diff === 0 && at.position >= target.position);
}

function fileNumber(file: string): number {
  const match = /\.(\d+)$/.exec(file);
  return match ? Number(match[1]) : 0;
}
