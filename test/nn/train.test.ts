import { Rng, Tensor, ValueError } from "@tapegrad/autograd";
import {
  Adam,
  type BatchInfo,
  type EpochInfo,
  evaluate,
  fit as fitModel,
  Linear,
  l2,
  NN,
  quadratic,
  ReLU,
  Sequential,
  SGD,
  sigmoid,
  softmaxCrossEntropy,
  spiral,
  Tanh,
  xor,
} from "@tapegrad/nn";
import { describe, expect, it } from "vitest";

/** Two separable Gaussian blobs in 2-D, classes 0 and 1 as int32 ids. */
function blobs(n: number, seed: number): { x: Tensor; y: Tensor } {
  const rng = new Rng(seed);
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    y[i] = c;
    x[2 * i] = (c ? 2 : -2) + 0.5 * rng.normal();
    x[2 * i + 1] = (c ? 1 : -1) + 0.5 * rng.normal();
  }
  return { x: new Tensor(x, [n, 2]), y: new Tensor(y, [n]) };
}

describe("fit", () => {
  it("reaches high accuracy on a tiny separable problem, with the loss falling", async () => {
    const train = blobs(200, 1);
    const test = blobs(100, 2);
    const model = new Sequential(new Linear(2, 8, { seed: 1 }), new Tanh(), new Linear(8, 2, { seed: 2 }));
    const history = await fitModel(model, train, {
      epochs: 10,
      batchSize: 16,
      loss: softmaxCrossEntropy,
      optimizer: new Adam(model.parameters(), { lr: 0.05 }),
      seed: 3,
      metrics: ["accuracy"],
      validation: test,
    });
    expect(history.loss.length).toBe(10);
    expect(history.loss[9]).toBeLessThan(history.loss[0]);
    expect(history.valAccuracy[9]).toBeGreaterThanOrEqual(0.97);
    expect(evaluate(model, test, { loss: softmaxCrossEntropy, metrics: ["accuracy"] }).accuracy).toBe(
      history.valAccuracy[9],
    );
  });

  it("learns the spiral with Sequential + Adam", async () => {
    const data = spiral(60, 3, 0);
    const model = new Sequential(new Linear(2, 32, { seed: 1 }), new ReLU(), new Linear(32, 3, { seed: 2 }));
    const h = await fitModel(model, data, {
      epochs: 60,
      batchSize: 30,
      loss: softmaxCrossEntropy,
      optimizer: new Adam(model.parameters(), { lr: 0.02 }),
      metrics: ["accuracy"],
    });
    expect(h.accuracy[h.accuracy.length - 1]).toBeGreaterThan(0.85);
  });

  it("trains the article's NN on XOR with manual (hand-derived) gradients", async () => {
    const data = xor({ dtype: "float64" });
    const nn = new NN([2, 4, 1], sigmoid, quadratic, { seed: 4, dtype: "float64" });
    const h = await fitModel(nn, data, {
      epochs: 300,
      batchSize: 4,
      optimizer: new SGD(nn.parameters(), { lr: 2, momentum: 0.9 }),
      gradients: "manual",
      metrics: ["accuracy"],
    });
    expect(h.loss[h.loss.length - 1]).toBeLessThan(0.01);
    expect(h.accuracy[h.accuracy.length - 1]).toBe(1);
  });

  it("manual and tape gradients give the same training run (float64)", async () => {
    const data = blobs(64, 5);
    const x = new Tensor(Float64Array.from(data.x.data), data.x.shape);
    const y = new Tensor(
      Float64Array.from({ length: 128 }, (_, i) => (data.y.data[i >> 1] === (i & 1) ? 1 : 0)),
      [64, 2],
    );
    const run = async (gradients: "manual" | "tape") => {
      const nn = new NN([2, 5, 2], sigmoid, quadratic, { seed: 9, dtype: "float64" });
      const h = await fitModel(
        nn,
        { x, y },
        {
          epochs: 3,
          batchSize: 10,
          optimizer: new SGD(nn.parameters(), { lr: 1, momentum: 0.5 }),
          gradients,
          seed: 1,
        },
      );
      return { params: nn.parameters().map((p) => Array.from(p.data)), loss: h.loss };
    };
    const manual = await run("manual");
    const tape = await run("tape");
    manual.params.flat().forEach((v, i) => {
      expect(Math.abs(v - tape.params.flat()[i])).toBeLessThan(1e-12);
    });
    manual.loss.forEach((v, i) => {
      expect(v).toBeCloseTo(tape.loss[i], 12);
    });
  });

  it("calls onBatch and onEpoch with loss, accuracy, timing; yields to the event loop between epochs", async () => {
    const data = blobs(50, 1);
    const model = new Sequential(new Linear(2, 2, { seed: 1 }));
    const batches: BatchInfo[] = [];
    const epochs: EpochInfo[] = [];
    let ticked = false;
    let tickSeenInEpoch2 = false;
    const h = await fitModel(model, data, {
      epochs: 2,
      batchSize: 16,
      loss: softmaxCrossEntropy,
      optimizer: new SGD(model.parameters(), { lr: 0.1 }),
      metrics: ["accuracy"],
      onBatch: (b) => {
        batches.push(b);
        if (b.epoch === 2 && b.batch === 1) tickSeenInEpoch2 = ticked;
      },
      onEpoch: (e) => {
        epochs.push(e);
        if (e.epoch === 1) setImmediate(() => (ticked = true));
      },
    });
    expect(batches.map((b) => `${b.epoch}.${b.batch}/${b.batches}`)).toEqual([
      "1.1/4",
      "1.2/4",
      "1.3/4",
      "1.4/4",
      "2.1/4",
      "2.2/4",
      "2.3/4",
      "2.4/4",
    ]);
    for (const b of batches) {
      expect(Number.isFinite(b.loss)).toBe(true);
      expect(b.accuracy).toBeGreaterThanOrEqual(0);
      expect(b.seconds).toBeGreaterThanOrEqual(0);
      expect(b.lr).toBe(0.1);
    }
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(epochs[0].epochs).toBe(2);
    expect(h.seconds.length).toBe(2);
    expect(h.accuracy.length).toBe(2);
    // the epoch loss is the row-weighted mean of the batch losses (batches of 16, 16, 16, 2)
    const e1 = batches.slice(0, 4);
    const weighted = e1.reduce((s, b, i) => s + b.loss * (i < 3 ? 16 : 2), 0) / 50;
    expect(epochs[0].loss).toBeCloseTo(weighted, 6);
    expect(tickSeenInEpoch2).toBe(true);
  });

  it("reports each epoch's learning rate as the rate of its first step, each batch's as its own", async () => {
    const data = blobs(50, 2);
    const model = new Sequential(new Linear(2, 2, { seed: 1 }));
    const batches: BatchInfo[] = [];
    const h = await fitModel(model, data, {
      epochs: 2,
      batchSize: 16,
      loss: softmaxCrossEntropy,
      optimizer: new SGD(model.parameters(), { lr: (step: number) => 1 / (step + 1) }),
      onBatch: (b) => batches.push(b),
    });
    expect(batches.map((b) => b.lr)).toEqual([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 6, 1 / 7, 1 / 8]);
    expect(h.epochs.map((e) => e.lr)).toEqual([1, 1 / 5]);
  });

  it("early stopping halts after `patience` epochs without improvement and can restore the best weights", async () => {
    const data = blobs(40, 2);
    const model = new Sequential(new Linear(2, 2, { seed: 1 }));
    const before = model.parameters().map((p) => Array.from(p.data));
    // lr 0: the monitored loss never improves after the first epoch
    const h = await fitModel(model, data, {
      epochs: 50,
      batchSize: 40,
      loss: softmaxCrossEntropy,
      optimizer: new SGD(model.parameters(), { lr: 0 }),
      shuffle: false,
      earlyStopping: { monitor: "loss", patience: 2 },
    });
    expect(h.stoppedEarly).toBe(true);
    expect(h.loss.length).toBe(4);
    expect(h.bestEpoch).toBe(1);

    // minDelta so large that only the first epoch counts as an improvement; restoreBest puts its weights back
    const model2 = new Sequential(new Linear(2, 2, { seed: 1 }));
    const val = blobs(40, 3);
    let afterEpoch1: number[][] = [];
    const h2 = await fitModel(model2, data, {
      epochs: 30,
      batchSize: 8,
      loss: softmaxCrossEntropy,
      optimizer: new SGD(model2.parameters(), { lr: 0.05 }),
      validation: val,
      metrics: ["accuracy"],
      earlyStopping: { monitor: "valLoss", patience: 1, minDelta: 1e9, restoreBest: true },
      onEpoch: (e) => {
        if (e.epoch === 1) afterEpoch1 = model2.parameters().map((p) => Array.from(p.data));
      },
    });
    expect(h2.stoppedEarly).toBe(true);
    expect(h2.bestEpoch).toBe(1);
    expect(h2.valLoss.length).toBe(3);
    expect(model.parameters().map((p) => Array.from(p.data))).toEqual(before); // lr 0 changed nothing
    expect(model2.parameters().map((p) => Array.from(p.data))).toEqual(afterEpoch1);
  });

  it("is deterministic for a seed", async () => {
    const run = async () => {
      const model = new Sequential(new Linear(2, 3, { seed: 1 }), new Tanh(), new Linear(3, 2, { seed: 2 }));
      await fitModel(model, blobs(30, 1), {
        epochs: 2,
        batchSize: 7,
        loss: softmaxCrossEntropy,
        optimizer: new Adam(model.parameters()),
        seed: 11,
      });
      return model.parameters().map((p) => Array.from(p.data));
    };
    expect(await run()).toEqual(await run());
  });

  it("rejects bad options", async () => {
    const data = blobs(10, 1);
    const model = new Sequential(new Linear(2, 2));
    const optimizer = new SGD(model.parameters(), { lr: 0.1 });
    await expect(fitModel(model, data, { epochs: 1, batchSize: 2, optimizer })).rejects.toThrow(
      /opts.loss is required/,
    );
    await expect(
      fitModel(model, data, {
        epochs: 1,
        batchSize: 2,
        optimizer,
        loss: softmaxCrossEntropy,
        gradients: "manual",
      }),
    ).rejects.toThrow(/needs an NN/);
    await expect(fitModel(model, data, { epochs: 1, batchSize: 0, optimizer, loss: l2 })).rejects.toThrow(
      ValueError,
    );
    await expect(
      fitModel(
        model,
        { x: data.x, y: new Tensor(new Int32Array(3), [3]) },
        { epochs: 1, batchSize: 2, optimizer, loss: l2 },
      ),
    ).rejects.toThrow(/same number of rows/);
    await expect(
      fitModel(model, data, {
        epochs: 1,
        batchSize: 2,
        optimizer,
        loss: l2,
        earlyStopping: { monitor: "valLoss" },
      }),
    ).rejects.toThrow(/no validation data/);
  });
});

describe("evaluate", () => {
  it("chunked evaluation equals one big batch, for mean and sum losses", () => {
    const rng = new Rng(1);
    const x = new Tensor(
      Float64Array.from({ length: 60 }, () => rng.normal()),
      [30, 2],
    );
    const y = new Tensor(
      Float64Array.from({ length: 30 }, () => rng.normal()),
      [30, 1],
    );
    const nn = new NN([2, 3, 1], sigmoid, quadratic, { seed: 2, dtype: "float64" });
    for (const loss of [quadratic, l2]) {
      const whole = loss.fn(nn.forwardPass(x), y).item();
      expect(evaluate(nn, { x, y }, { loss, batchSize: 7 }).loss).toBeCloseTo(whole, 12);
    }
    expect(evaluate(nn, { x, y }).loss).toBeCloseTo(nn.evalLoss(x, y), 12);
  });
});
