import type { BenchConfig, PeerId } from "../lib/args.js";
import type { Dataset } from "../lib/data.js";

/** What every workload needs to build its items: the settings, the data, and which peers can run. */
export interface WorkloadContext {
  config: BenchConfig;
  data: Dataset;
  /** Peers selected with --peers and able to run on this machine. */
  peers: PeerId[];
}
