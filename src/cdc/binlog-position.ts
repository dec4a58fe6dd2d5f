/** A resume point of the binary log: always file and position; GTID where the server has one. */
export interface BinlogPosition {
  file: string;
  position: number;
  gtid: string | null;
}

export function describePosition(p: BinlogPosition | null | undefined): string {
  if (!p) return 'none';
  return `${p.file}:${p.position}${p.gtid ? ` (gtid ${p.gtid})` : ''}`;
}

export function samePosition(a: BinlogPosition | null, b: { file: string; position: number } | null): boolean {
  return !!a && !!b && a.file === b.file && a.position === b.position;
}
