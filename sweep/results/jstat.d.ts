// The part of jstat (no published types) that sweep/results/statistics.ts and bench/temporal-overhead.ts use; it is CommonJS, so a default import.
declare module 'jstat' {
  const jstat: {
    jStat: {
      studentt: { cdf(x: number, dof: number): number; inv(p: number, dof: number): number };
      median(values: number[]): number;
    };
  };
  export default jstat;
}
