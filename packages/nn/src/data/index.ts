export { type CsvData, type CsvOptions, parseCsv, readCsv } from "./csv.js";
export { type IdxOptions, readIdx } from "./idx.js";
export { spiral, xor } from "./synthetic.js";
export { oneHot, permutation, trainTestSplit } from "./transform.js";
