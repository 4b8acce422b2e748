/** Numbers for labels: short, and never rounding a non-zero value to "0". */
export function formatCompact(v: number): string {
  if (v === 0) return "0";
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 0.01 && a < 1000) return String(Number(v.toPrecision(2)));
  if (a >= 1000 && a < 1e6 && Number.isInteger(v)) return String(v);
  return v.toExponential(1).replace("e+", "e");
}

/** 1234567 -> "1.23M"; parameter counts. */
export function formatCount(n: number): string {
  const units: [number, string][] = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "K"]];
  for (const [size, suffix] of units) if (n >= size) return `${Number((n / size).toPrecision(3))}${suffix}`;
  return String(n);
}
