/** tapegrad's packages, loaded at run time so that a broken or missing build is reported, not fatal. */
export type Autograd = typeof import("@tapegrad/autograd");
export type Nn = typeof import("@tapegrad/nn");

let autograd: Promise<Autograd> | undefined;
let nn: Promise<Nn> | undefined;

export function loadAutograd(): Promise<Autograd> {
  autograd ??= import("@tapegrad/autograd");
  return autograd;
}

export function loadNn(): Promise<Nn> {
  nn ??= import("@tapegrad/nn");
  return nn;
}
