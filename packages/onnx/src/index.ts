export { type Dim, GraphBuilder } from "./builder.js";
export { checkModel } from "./checker.js";
export {
  buildOnnxModel,
  type ExportFunction,
  type ExportOptions,
  type ExportOutput,
  exportOnnx,
} from "./export.js";
export {
  type EmitContext,
  type MappingTable,
  type NonDifferentiableTable,
  nonDifferentiableMappings,
  type OnnxMapping,
  primitiveMappings,
  type UnmappedReason,
} from "./mapping.js";
export { type ModelProto, onnx } from "./proto.js";
