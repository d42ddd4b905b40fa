import { describe, expect, it } from "vitest";
import { syntheticDataset } from "../../bench/lib/data.js";
import { torchAgreement } from "../../bench/lib/torch-checks.js";
import { torchUnavailable } from "../../bench/peers/torch.js";

// The W1 / W2 PyTorch columns compare times only if PyTorch computes what tapegrad does: the same loss
// and gradients from the same weights on the same batch. float32 on both sides.
const LOSS_TOLERANCE = 1e-5;
const GRAD_TOLERANCE = 1e-4;

describe("bench W1 / W2: tapegrad and PyTorch agree", () => {
  for (const workload of ["W1", "W2"] as const) {
    it(`${workload}: loss and gradients on one batch`, async (ctx) => {
      const why = torchUnavailable();
      if (why !== null) ctx.skip(why);
      for (const seed of [1, 2]) {
        const a = await torchAgreement(workload, syntheticDataset(200, seed));
        expect(Number.isFinite(a.torchLoss)).toBe(true);
        expect(a.lossRelError).toBeLessThan(LOSS_TOLERANCE);
        expect(a.gradRelError).toBeLessThan(GRAD_TOLERANCE);
      }
    });
  }
});
