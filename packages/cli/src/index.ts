// The CLI as a library: run the command line with your own output streams (tests, other tools).
export { buildProgram, run } from "./cli.js";
export type { CliIO, Output } from "./io.js";
