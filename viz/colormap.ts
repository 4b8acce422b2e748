/**
 * Colour maps as piecewise-linear interpolation between published stops: viridis (perceptually
 * uniform, matplotlib's default) for spectrograms and influence, and a white-to-blue ramp for masks,
 * where 0 must read as blank paper.
 */

export type Rgb = readonly [number, number, number];
export type ColorMap = (t: number) => Rgb;

// matplotlib's viridis sampled at 0, 1/8, ..., 1
const VIRIDIS: readonly Rgb[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

// ColorBrewer "Blues", light to dark, starting at pure white
const BLUES: readonly Rgb[] = [
  [255, 255, 255],
  [222, 235, 247],
  [198, 219, 239],
  [158, 202, 225],
  [107, 174, 214],
  [66, 146, 198],
  [33, 113, 181],
  [8, 81, 156],
  [8, 48, 107],
];

function ramp(stops: readonly Rgb[]): ColorMap {
  return (t) => {
    const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(x));
    const f = x - i;
    const [a, b] = [stops[i], stops[i + 1]];
    return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as unknown as Rgb;
  };
}

export const viridis: ColorMap = ramp(VIRIDIS);
export const blues: ColorMap = ramp(BLUES);

export function hex([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

/** Black or white, whichever reads better on `background` (WCAG relative luminance). */
export function textColorOn([r, g, b]: Rgb): string {
  const lin = (v: number) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b) > 0.4 ? "#111" : "#fff";
}
