/** Colour scales for heat-maps: a diverging blue–white–red for signed numbers, and grey for pixels. */

export type Rgb = [number, number, number];

const NEG: Rgb = [37, 99, 235]; // blue
const MID: Rgb = [248, 250, 252]; // near white
const POS: Rgb = [220, 38, 38]; // red

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [
    Math.round(a[0] + (b[0] - a[0]) * t),
    Math.round(a[1] + (b[1] - a[1]) * t),
    Math.round(a[2] + (b[2] - a[2]) * t),
  ];
}

/** v in [−scale, scale] to blue (negative) … white (0) … red (positive); clamped outside; NaN is black. */
export function diverging(v: number, scale: number): Rgb {
  if (Number.isNaN(v)) return [0, 0, 0];
  const t = scale > 0 ? Math.max(-1, Math.min(1, v / scale)) : 0;
  return t < 0 ? mix(MID, NEG, -t) : mix(MID, POS, t);
}

/** A 0..1 pixel as dark-on-light grey (ink dark, like a pen on paper). */
export function ink(v: number): Rgb {
  const g = Math.round(255 * (1 - Math.max(0, Math.min(1, v))));
  return [g, g, g];
}
